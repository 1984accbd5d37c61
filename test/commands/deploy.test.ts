import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { runDeploy } from "../../src/commands/deploy.ts"
import { DeployResult } from "../../src/domain/results.ts"
import { Process } from "../../src/effects/Process.ts"
import { Reporter } from "../../src/effects/Reporter.ts"
import { type Ending, scriptedNix } from "../support/scriptedNix.ts"

/**
 * Deploy retries on the test clock: what is tried again, after a backoff, and
 * what is not. Nix is scripted (test/support/scriptedNix.ts): each attempt's build
 * ends as the script says.
 */

const recorded: Array<string> = []
const recordingReporter = Layer.succeed(
  Reporter,
  Reporter.of({
    inBuildkite: true,
    group: () => Effect.void,
    expandGroup: Effect.void,
    record: (_, value) => Effect.sync(() => void recorded.push(value)),
    summarise: () => Effect.void
  })
)
const succeedingProcess = Layer.succeed(
  Process,
  Process.of({ run: () => Effect.succeed({ exitCode: 0, signal: undefined, stdout: "", stderr: "" }) })
)

const deploy = (script: ReadonlyArray<Ending>, retries = 0) => {
  recorded.length = 0
  return runDeploy({ target: ".#apps.x86_64-linux.deploy", name: Option.some("production"), retries, retryDelay: "2 seconds" }).pipe(
    Effect.provide(Layer.mergeAll(scriptedNix(script), recordingReporter, succeedingProcess))
  )
}

const lastResult = () => Schema.decodeUnknownSync(Schema.fromJsonString(DeployResult))(recorded.at(-1))

describe("tool deploy's retries", () => {
  it.effect("retries a transient failure after a backoff, even with no retries declared", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(deploy(["transient", "ok"]))
      // Nothing happens until the clock moves past the backoff: nothing really sleeps.
      yield* TestClock.adjust("1 second")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      const result = lastResult()
      assert.strictEqual(result.status, "passed")
      assert.strictEqual(result.attempts.length, 2)
      assert.include(result.attempts[0]!.error, "HTTP error 503")
    }))

  it.effect("never retries a permanent failure", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(deploy(["permanent", "ok"], 3))
      assert.strictEqual(error._tag, "TargetFailed")
      assert.strictEqual(lastResult().attempts.length, 1)
      assert.include(error.message, "failed with exit code 2")
    }))

  it.effect("gives up on transient failures after two retries", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.flip(deploy(["transient", "transient", "transient", "transient"])))
      yield* TestClock.adjust("10 minutes")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "TargetFailed")
      assert.strictEqual(lastResult().attempts.length, 3)
    }))

  it.effect("retries when Nix cannot reach its store, as Nix's own words say", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(deploy(["unreachable", "ok"]))
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      const { status, attempts } = lastResult()
      assert.deepStrictEqual([status, attempts.map((run) => run.error?.includes("cannot connect to socket") ?? null)], ["passed", [true, null]])
    }))

  it.effect("never retries when there is no nix to run", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(deploy(["no-nix", "ok"], 3))
      assert.deepStrictEqual([error._tag, lastResult().attempts.length], ["TargetFailed", 1])
      assert.include(error.message, "could not run nix-store")
    }))
})
