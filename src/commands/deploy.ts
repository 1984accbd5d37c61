import { Console, Duration, Effect, Option, Schedule } from "effect"
import { targetKey } from "../domain/results.ts"
import { Reporter } from "../effects/Reporter.ts"
import { formatDuration, runOutcome } from "../render/summary.ts"
import { reporterFor } from "./reporting.ts"
import { retryDelays, shouldRetry } from "./retries.ts"
import { type Attempt, finishStep, runTarget } from "./runTarget.ts"
import { services } from "./services.ts"

export const runDeploy = Effect.fn("deploy")(function*(input: {
  readonly target: string
  readonly name: Option.Option<string>
  readonly retries: number
  readonly retryDelay: Duration.Input
}) {
  const reporter = yield* Reporter
  const name = Option.getOrElse(input.name, () => targetKey(input.target))
  const attempts: Array<Attempt> = []

  const once = Effect.gen(function*() {
    const title = `:rocket: Deploy: ${name}${attempts.length === 0 ? "" : ` (attempt ${attempts.length + 1})`}`
    const attempt = yield* runTarget(input.target, title)
    attempts.push(attempt)
    if (attempt.passed) return attempt
    yield* reporter.expandGroup
    return yield* Effect.fail(attempt)
  })
  yield* once.pipe(
    Effect.retry(
      retryDelays(input.retryDelay).pipe(
        Schedule.setInputType<Attempt>(),
        Schedule.while(() => shouldRetry(attempts, input.retries)),
        Schedule.tap((meta) =>
          Console.log(`${name}: ${runOutcome(meta.input.run)}; trying again in ${formatDuration(Duration.toMillis(meta.duration))}`)
        )
      )
    ),
    Effect.ignore
  )

  yield* finishStep({ kind: "deploy", name, target: input.target }, attempts)
})

/** `tool deploy`: its flags and help are src/cli/deploy.ts's. */
export const deploy = (input: {
  readonly target: string
  readonly name: Option.Option<string>
  readonly retries: number
  readonly retryDelay: number
  readonly local: boolean
}) =>
  runDeploy({ ...input, retryDelay: Duration.seconds(input.retryDelay) }).pipe(Effect.provide(reporterFor(input.local)), Effect.provide(services))
