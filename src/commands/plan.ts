import { Effect } from "effect"
import { Command } from "effect/cli"
import { readBuildkiteEnvironment } from "../effects/BuildkiteEnvironment.ts"
import { Evaluations } from "../nix/Evaluations.ts"
import { planCi } from "./plan/ciMode.ts"
import { planDeploy } from "./plan/deployMode.ts"
import { flags } from "./plan/flags.ts"

/**
 * `tool plan`: CI mode (src/commands/plan/ciMode.ts), or deploy mode in a deploy
 * build (src/commands/plan/deployMode.ts).
 */

export const plan = Command.make(
  "plan",
  flags,
  Effect.fn("plan")(function*(flagsIn) {
    const environment = yield* readBuildkiteEnvironment
    return environment.DENBEIGH_DEPLOY === "true" ? yield* planDeploy(flagsIn, environment) : yield* planCi(flagsIn, environment)
  })
).pipe(
  Command.provide((flagsIn) => Evaluations.layer({ cache: !flagsIn.noCache })),
  Command.withDescription(
    "Evaluate the flake at the base and head commits, decide what to check, build and deploy, and upload the Buildkite pipeline (or print it with --dry-run)"
  ),
  Command.withExamples([
    { command: "tool plan --dry-run", description: "Print the pipeline for the checked-out commit" },
    { command: "tool plan --dry-run --format json --branch master --tag v1.2.0", description: "The whole plan, as a tag build on master" }
  ])
)
