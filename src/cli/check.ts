import { Command, Flag } from "effect/cli"
import { lazily } from "./lazily.ts"
import { localFlag } from "./reporting.ts"

export const check = Command.make(
  "check",
  {
    target: Flag.String("target").pipe(Flag.withDescription("The app (or package) to run, for example .#apps.x86_64-linux.lint")),
    name: Flag.String("name").pipe(Flag.withDescription("The check's name, for its result (default: the target's attribute path)"), Flag.optional),
    local: localFlag
  },
  lazily(() => import("../commands/check.ts"), (module, input) => module.check(input))
).pipe(
  Command.withDescription("Run an app as a CI check, in its own log group, and record its result; exits as the check does"),
  Command.withExamples([{ command: "tool check --target .#apps.x86_64-linux.lint --name lint", description: "Run the lint app" }])
)
