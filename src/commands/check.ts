import { Effect, Option } from "effect"
import { targetKey } from "../domain/results.ts"
import { Reporter } from "../effects/Reporter.ts"
import { reporterFor } from "./reporting.ts"
import { finishStep, runTarget } from "./runTarget.ts"
import { services } from "./services.ts"

const runCheck = Effect.fn("check")(function*(input: { readonly target: string; readonly name: Option.Option<string> }) {
  const reporter = yield* Reporter
  const name = Option.getOrElse(input.name, () => targetKey(input.target))
  const attempt = yield* runTarget(input.target, `:nix: Check: ${name}`)
  if (!attempt.passed) yield* reporter.expandGroup
  yield* finishStep({ kind: "check", name, target: input.target }, [attempt])
})

/** `tool check`: its flags and help are src/cli/check.ts's. */
export const check = (input: { readonly target: string; readonly name: Option.Option<string>; readonly local: boolean }) =>
  runCheck(input).pipe(Effect.provide(reporterFor(input.local)), Effect.provide(services))
