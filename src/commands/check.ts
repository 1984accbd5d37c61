import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { targetKey } from "../domain/results.ts"
import { Reporter } from "../effects/Reporter.ts"
import { localFlag, reporterFor } from "./reporting.ts"
import { finishStep, runTarget } from "./runTarget.ts"

const runCheck = Effect.fn("check")(function*(input: { readonly target: string; readonly name: Option.Option<string> }) {
  const reporter = yield* Reporter
  const name = Option.getOrElse(input.name, () => targetKey(input.target))
  const attempt = yield* runTarget(input.target, `:nix: Check: ${name}`)
  if (!attempt.passed) yield* reporter.expandGroup
  yield* finishStep({ kind: "check", name, target: input.target }, [attempt])
})

export const check = Command.make(
  "check",
  {
    target: Flag.String("target").pipe(Flag.withDescription("The app (or package) to run, for example .#apps.x86_64-linux.lint")),
    name: Flag.String("name").pipe(Flag.withDescription("The check's name, for its result (default: the target's attribute path)"), Flag.optional),
    local: localFlag
  },
  (input) => runCheck(input).pipe(Effect.provide(reporterFor(input.local)))
).pipe(
  Command.withDescription("Run an app as a CI check, in its own log group, and record its result; exits as the check does"),
  Command.withExamples([{ command: "tool check --target .#apps.x86_64-linux.lint --name lint", description: "Run the lint app" }])
)
