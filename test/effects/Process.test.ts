import { NodeServices } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { logTails } from "../../src/domain/logTails.ts"
import { Process, ProcessFailed, ProcessOutputTooLarge, ProcessSpawnFailed, ProcessTimedOut } from "../../src/effects/Process.ts"
import { isRunning } from "../support/processes.ts"

/** The one process runner, against real processes. */

const live = Process.layer.pipe(Layer.provide(NodeServices.layer))

/** Resolves once `path` holds a line: a real wait, whatever the test clock says. */
const lineIn = (path: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve) => {
      const poll = () => {
        const text = (() => {
          try {
            return readFileSync(path, "utf8")
          } catch {
            return ""
          }
        })()
        if (text.endsWith("\n")) resolve(text.trim())
        else setTimeout(poll, 10)
      }
      poll()
    })
  )


layer(live)("Process", (it) => {
  describe("exit codes", () => {
    it.effect("collects stdout and stderr of a program that exits 0", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const result = yield* runner.run("sh", ["-c", "echo out; echo err >&2"])
        assert.deepStrictEqual(result, { exitCode: 0, signal: undefined, stdout: "out\n", stderr: "err\n" })
      }))

    it.effect("fails on any other exit code, with the end of stderr in the message", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const error = yield* runner.run("sh", ["-c", "echo out; echo err >&2; exit 3"]).pipe(Effect.flip)
        assert.instanceOf(error, ProcessFailed)
        assert.strictEqual(error.exitCode, 3)
        assert.strictEqual(error.stderr, "err\n")
        assert.strictEqual(error.message, "sh -c 'echo out; echo err >&2; exit 3' exited with code 3:\nerr")
      }))

    it.effect("keeps only the last lines of a long stderr in the message", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const error = yield* runner.run("sh", ["-c", "seq 1 100 >&2; exit 1"]).pipe(Effect.flip)
        assert.instanceOf(error, ProcessFailed)
        const expected = Array.from({ length: logTails.message }, (_, i) => String(100 - logTails.message + 1 + i))
        assert.deepStrictEqual(error.message.split("\n").slice(1), expected)
      }))

    it.effect("returns a non-zero exit when failure is allowed", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const result = yield* runner.run("sh", ["-c", "echo out; exit 7"], { allowFailure: true })
        assert.deepStrictEqual(result, { exitCode: 7, signal: undefined, stdout: "out\n", stderr: "" })
      }))

    it.effect("fails naming a program it cannot start", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const error = yield* runner.run("ci-test-no-such-program", ["--flag"]).pipe(Effect.flip)
        assert.instanceOf(error, ProcessSpawnFailed)
        assert.match(error.message, /^could not run ci-test-no-such-program --flag: /)
      }))
  })

  describe("input and environment", () => {
    it.effect("writes stdin, and adds to the inherited environment (a Redacted value too)", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const result = yield* runner.run("sh", ["-c", `cat; printf '%s' "$CI_TEST_VALUE"`], {
          stdin: "in\n",
          env: { CI_TEST_VALUE: Redacted.make("kept") }
        })
        // `cat` is found on the inherited PATH.
        assert.strictEqual(result.stdout, "in\nkept")
      }))
  })

  describe("limits", () => {
    it.effect("stops a program at its timeout, and ends it", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const pidFile = join(mkdtempSync(join(tmpdir(), "ci-process-")), "pid")
        const fiber = yield* Effect.forkChild(
          runner.run("sh", ["-c", `echo $$ > ${pidFile}; exec sleep 600`], { timeout: "1 minute" }).pipe(Effect.flip)
        )
        const pid = Number(yield* lineIn(pidFile))
        assert.isTrue(isRunning(pid))
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.instanceOf(error, ProcessTimedOut)
        assert.strictEqual(error.message, `sh -c 'echo $$ > ${pidFile}; exec sleep 600' did not finish within 1m`)
        assert.isFalse(isRunning(pid), "the program is not left running")
      }))

    it.effect("fails when the output passes its cap, reading on so the program never blocks", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const error = yield* runner.run("head", ["-c", "1000000", "/dev/zero"], { maxOutputBytes: 1000 }).pipe(Effect.flip)
        assert.instanceOf(error, ProcessOutputTooLarge)
        assert.strictEqual(error.message, "head -c 1000000 /dev/zero wrote more than 1000 bytes of output")
      }))

    it.effect("passes each line on as it comes, keeping the last ones for the result", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const lines: Array<string> = []
        const count = logTails.streamed + 50
        const result = yield* runner.run("seq", ["1", String(count)], { onLine: (line) => Effect.sync(() => void lines.push(line)) })
        assert.deepStrictEqual(lines, Array.from({ length: count }, (_, i) => String(i + 1)))
        assert.deepStrictEqual(result.stdout.split("\n"), lines.slice(-logTails.streamed))
      }))
  })

  describe("stdout via a file", () => {
    // Each run's temporary files are made here: the tests see what is left behind.
    const withTemporaryDirectory = <A, E, R>(body: (directory: string) => Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const previous = process.env.TMPDIR
          const directory = mkdtempSync(join(tmpdir(), "ci-process-tmp-"))
          process.env.TMPDIR = directory
          return { previous, directory }
        }),
        ({ directory }) => body(directory),
        ({ previous }) =>
          Effect.sync(() => {
            if (previous === undefined) delete process.env.TMPDIR
            else process.env.TMPDIR = previous
          })
      )

    it.effect("gives the whole output, written a little at a time, with stderr and the exit code, and leaves no file", () =>
      withTemporaryDirectory((directory) =>
        Effect.gen(function*() {
          const runner = yield* Process
          // 3 MB in lines, more than one read of the file, the last character outside ASCII.
          const script = "i=0; while [ $i -lt 60000 ]; do echo \"line $i of a long output, written as Nix 2.8 writes JSON\"; i=$((i+1)); done; printf 'é'; echo err >&2; exit 4"
          const result = yield* runner.run("sh", ["-c", script], { stdoutViaFile: true, allowFailure: true })
          const lines = result.stdout.split("\n")
          assert.strictEqual(lines.length, 60001)
          assert.strictEqual(lines[59999], "line 59999 of a long output, written as Nix 2.8 writes JSON")
          assert.strictEqual(lines[60000], "é")
          assert.deepStrictEqual([result.stderr, result.exitCode, result.signal], ["err\n", 4, undefined])
          assert.deepStrictEqual(readdirSync(directory), [])
        })
      ))

    it.effect("runs in the directory and environment asked for, with the input given", () =>
      Effect.gen(function*() {
        process.env.CI_TEST_GONE = "set"
        const runner = yield* Process
        const directory = mkdtempSync(join(tmpdir(), "ci-process-"))
        const result = yield* runner.run("sh", ["-c", "pwd; echo \"$CI_TEST_SECRET $CI_TEST_GONE\"; cat"], {
          stdoutViaFile: true,
          cwd: directory,
          env: { CI_TEST_SECRET: Redacted.make("hidden"), CI_TEST_GONE: undefined },
          stdin: "in\n"
        })
        assert.strictEqual(result.stdout, `${directory}\nhidden \nin\n`)
      }).pipe(Effect.ensuring(Effect.sync(() => delete process.env.CI_TEST_GONE))))

    it.effect("fails as a pipe's run does: a non-zero exit, a program that cannot start", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const failed = yield* runner.run("sh", ["-c", "echo out; echo err >&2; exit 3"], { stdoutViaFile: true }).pipe(Effect.flip)
        assert.instanceOf(failed, ProcessFailed)
        assert.strictEqual(failed.stderr, "err\n")
        const missing = yield* runner.run("ci-test-no-such-program", [], { stdoutViaFile: true }).pipe(Effect.flip)
        assert.instanceOf(missing, ProcessSpawnFailed)
      }))

    it.effect("stops a program whose output passes the cap, and leaves no file", () =>
      withTemporaryDirectory((directory) =>
        Effect.gen(function*() {
          const runner = yield* Process
          // It would sleep for ten minutes after writing past the cap: the run ends it.
          const pidFile = join(directory, "pid")
          const error = yield* runner.run("sh", ["-c", `echo $$ > ${pidFile}; head -c 5000 /dev/zero; exec sleep 600`], {
            stdoutViaFile: true,
            maxOutputBytes: 1000
          }).pipe(Effect.flip)
          assert.instanceOf(error, ProcessOutputTooLarge)
          assert.isFalse(isRunning(Number(readFileSync(pidFile, "utf8").trim())), "the program is not left running")
          // One that ends past the cap before the size is checked: found at the end, not read.
          const ended = yield* runner.run("head", ["-c", "5000", "/dev/zero"], { stdoutViaFile: true, maxOutputBytes: 1000 }).pipe(Effect.flip)
          assert.instanceOf(ended, ProcessOutputTooLarge)
          assert.deepStrictEqual(readdirSync(directory), ["pid"])
        })
      ))

    it.effect("stops a program at its timeout, and ends it", () =>
      Effect.gen(function*() {
        const runner = yield* Process
        const pidFile = join(mkdtempSync(join(tmpdir(), "ci-process-")), "pid")
        const fiber = yield* Effect.forkChild(
          runner.run("sh", ["-c", `echo $$ > ${pidFile}; exec sleep 600`], { timeout: "1 minute", stdoutViaFile: true }).pipe(Effect.flip)
        )
        const pid = Number(yield* lineIn(pidFile))
        yield* TestClock.adjust("1 minute")
        assert.instanceOf(yield* Fiber.join(fiber), ProcessTimedOut)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
        assert.isFalse(isRunning(pid), "the program is not left running")
      }))
  })

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
