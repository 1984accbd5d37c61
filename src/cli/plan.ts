import { Command } from "effect/cli"
import { flags } from "../commands/plan/flags.ts"
import { lazily } from "./lazily.ts"

export const plan = Command.make(
  "plan",
  flags,
  lazily(() => import("../commands/plan.ts"), (module, input) => module.plan(input))
).pipe(
  Command.withDescription(
    "Evaluate the flake at the base and head commits, decide what to check, build and deploy, and upload the Buildkite pipeline (or print it with --dry-run)"
  ),
  Command.withExamples([
    { command: "tool plan --dry-run", description: "Print the pipeline for the checked-out commit" },
    { command: "tool plan --dry-run --format json --branch master --tag v1.2.0", description: "The whole plan, as a tag build on master" }
  ])
)
