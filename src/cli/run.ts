import { Command } from "effect/cli"
import { flags } from "../commands/run/flags.ts"
import { lazily } from "./lazily.ts"

export const run = Command.make(
  "run",
  flags,
  lazily(() => import("../commands/run.ts"), (module, input) => module.run(input))
).pipe(
  Command.withDescription(
    "Plan the work tree (uncommitted changes included) against a base and run what the pipeline would: the checks, the build, and with --deploy the deploy steps"
  ),
  Command.withExamples([
    { command: "tool run", description: "Check and build what changed since the upstream branch" },
    { command: "tool run --branch master --deploy --yes", description: "Also deploy, as a build of master would" }
  ])
)
