import { Console, Duration, Effect, Option, Schedule, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { targetKey } from "../domain/results.ts"
import { Reporter } from "../effects/Reporter.ts"
import { formatDuration, runOutcome } from "../render/summary.ts"
import { localFlag, reporterFor } from "./reporting.ts"
import { retryDelays, shouldRetry } from "./retries.ts"
import { type Attempt, finishStep, runTarget } from "./runTarget.ts"

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

export const deploy = Command.make(
  "deploy",
  {
    target: Flag.String("target").pipe(Flag.withDescription("The deploy app to run, for example .#apps.x86_64-linux.deploy-staging")),
    name: Flag.String("name").pipe(Flag.withDescription("The step's name, for its result (default: the target's attribute path)"), Flag.optional),
    retries: Flag.Int("retries").pipe(
      Flag.withDescription("Run the app again up to this many times (0 to 10) if it fails; declare it only for idempotent deploys"),
      Flag.withSchema(Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 10 })))),
      Flag.withDefault(0)
    ),
    retryDelay: Flag.Finite("retry-delay").pipe(
      Flag.withDescription("Seconds before the first retry; each further wait doubles, up to a minute, with jitter"),
      Flag.withDefault(2)
    ),
    local: localFlag
  },
  (input) =>
    runDeploy({ ...input, retryDelay: Duration.seconds(input.retryDelay) }).pipe(Effect.provide(reporterFor(input.local)))
).pipe(
  Command.withDescription(
    "Run a deploy app and record its result; transient Nix failures are retried, the app itself only as often as --retries allows"
  ),
  Command.withExamples([
    { command: "tool deploy --target .#apps.x86_64-linux.deploy-staging --name staging --retries 2", description: "Deploy to staging, trying up to three times" }
  ])
)
