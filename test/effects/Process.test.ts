import { NodeServices } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Process, ProcessFailed } from "../../src/effects/Process.ts"

/** The one process runner, against real processes. */

const live = Process.layer.pipe(Layer.provide(NodeServices.layer))

layer(live)("Process", (it) => {
  describe("a process a signal ends", () => {
    it.effect("is reported with the signal, when failure is allowed", () =>
      Effect.gen(function*() {
        const process = yield* Process
        const result = yield* process.run("sh", ["-c", "echo going >&2; kill -KILL $$"], { allowFailure: true })
        assert.strictEqual(result.exitCode, null)
        assert.strictEqual(result.signal, "SIGKILL")
        assert.strictEqual(result.stderr, "going\n")
      }))

    it.effect("fails naming the signal, when it is not", () =>
      Effect.gen(function*() {
        const process = yield* Process
        const error = yield* process.run("sh", ["-c", "echo going >&2; kill -TERM $$"]).pipe(Effect.flip)
        assert.instanceOf(error, ProcessFailed)
        assert.strictEqual(error.message, "sh -c 'echo going >&2; kill -TERM $$' was killed by SIGTERM:\ngoing")
      }))

    it.effect("is reported with the signal when its output is streamed", () =>
      Effect.gen(function*() {
        const process = yield* Process
        const lines: Array<string> = []
        const result = yield* process.run("sh", ["-c", "echo going; kill -KILL $$"], {
          allowFailure: true,
          onLine: (line) => Effect.sync(() => void lines.push(line))
        })
        assert.deepStrictEqual([result.exitCode, result.signal, lines], [null, "SIGKILL", ["going"]])
      }))
  })
})
