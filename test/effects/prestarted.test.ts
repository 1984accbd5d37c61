import { NodeServices } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Process, ProcessFailed, ProcessOutputTooLarge, ProcessTimedOut } from "../../src/effects/Process.ts"
import { defaultMaxOutputBytes } from "../../src/effects/outputCollector.ts"
import { prestart } from "../../src/effects/prestarted.ts"
import { nodeBinary, repoRoot } from "../support/paths.ts"
import { isRunning } from "../support/processes.ts"

/**
 * A process started before the tool loaded is taken over by `Process.run` of exactly its
 * command line, and by nothing else; one nothing takes ends with the tool.
 */

const live = Process.layer.pipe(Layer.provide(NodeServices.layer))

const scratch = () => mkdtempSync(join(tmpdir(), "ci-prestarted-"))
// Each start of the script adds a line to `file`: how many times it ran.
const counted = (file: string, then: string) => ["-c", `echo started >> ${file}; ${then}`]
const starts = (file: string) => readFileSync(file, "utf8").split("\n").filter((line) => line !== "").length

const waitFor = (check: () => boolean) =>
  Effect.promise(() =>
    new Promise<void>((resolve) => {
      const poll = () => (check() ? resolve() : setTimeout(poll, 10))
      poll()
    })
  )


layer(live)("prestarted processes", (it) => {
  describe("taken over by the run of the same command line", () => {
    it.effect("gives that run its output and exit code, without starting it again", () =>
      Effect.gen(function*() {
        const file = join(scratch(), "starts")
        const args = counted(file, "echo out; echo err >&2; exit 3")
        prestart("sh", args, { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        const result = yield* runner.run("sh", args, { allowFailure: true })
        assert.deepStrictEqual(result, { exitCode: 3, signal: undefined, stdout: "out\n", stderr: "err\n" })
        assert.strictEqual(starts(file), 1)
      }))

    it.effect("fails as the run itself would: a non-zero exit, output past the cap", () =>
      Effect.gen(function*() {
        const file = join(scratch(), "starts")
        const failing = counted(file, "echo err >&2; exit 3")
        prestart("sh", failing, { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        const failed = yield* runner.run("sh", failing).pipe(Effect.flip)
        assert.instanceOf(failed, ProcessFailed)
        assert.strictEqual(failed.stderr, "err\n")

        const loud = counted(file, "head -c 5000 /dev/zero")
        prestart("sh", loud, { limit: 1000 })
        const tooLarge = yield* runner.run("sh", loud).pipe(Effect.flip)
        assert.instanceOf(tooLarge, ProcessOutputTooLarge)
        assert.strictEqual(starts(file), 2)
      }))

    it.effect("is taken once: a second run of the command line starts its own", () =>
      Effect.gen(function*() {
        const file = join(scratch(), "starts")
        const args = counted(file, "echo out")
        prestart("sh", args, { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        yield* runner.run("sh", args)
        yield* runner.run("sh", args)
        assert.strictEqual(starts(file), 2)
      }))

    it.effect("is taken, given input, by the run with the same input and by no other", () =>
      Effect.gen(function*() {
        const file = join(scratch(), "starts")
        // It echoes what it reads: the output shows whose input it was.
        const args = counted(file, "cat")
        prestart("sh", args, { limit: defaultMaxOutputBytes, stdin: "first\nsecond\n" })
        const runner = yield* Process
        assert.strictEqual((yield* runner.run("sh", args)).stdout, "")
        assert.strictEqual((yield* runner.run("sh", args, { stdin: "other\n" })).stdout, "other\n")
        assert.strictEqual(starts(file), 3, "the prestarted one, and each of the two runs' own")
        assert.strictEqual((yield* runner.run("sh", args, { stdin: "first\nsecond\n" })).stdout, "first\nsecond\n")
        assert.strictEqual(starts(file), 3, "the run with the same input took the prestarted one")
      }))

    it.effect("is not taken by another command line, nor by a run with other input, a directory, variables or an output cap of its own", () =>
      Effect.gen(function*() {
        const directory = scratch()
        const file = join(directory, "starts")
        const args = counted(file, "cat > /dev/null; echo out")
        prestart("sh", args, { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        yield* runner.run("sh", [...args, "extra"])
        yield* runner.run("sh", args, { stdin: "in\n" })
        yield* runner.run("sh", args, { cwd: directory })
        yield* runner.run("sh", args, { env: { CI_TEST_VALUE: "x" } })
        yield* runner.run("sh", args, { maxOutputBytes: 1000 })
        // The prestarted one, and each of the five runs' own.
        yield* waitFor(() => starts(file) === 6)
        assert.strictEqual(starts(file), 6)
      }))

    it.effect("is taken only by a run that takes its output the same way", () =>
      Effect.gen(function*() {
        const file = join(scratch(), "starts")
        const args = counted(file, "echo out")
        prestart("sh", args, { limit: defaultMaxOutputBytes, stdoutViaFile: true })
        const runner = yield* Process
        assert.strictEqual((yield* runner.run("sh", args)).stdout, "out\n")
        yield* waitFor(() => starts(file) === 2)
        assert.strictEqual((yield* runner.run("sh", args, { stdoutViaFile: true })).stdout, "out\n")
        assert.strictEqual(starts(file), 2, "the run through a file took the prestarted one")
      }))

    it.effect("starts its own when the prestarted program could not start", () =>
      Effect.gen(function*() {
        prestart("ci-test-no-such-program", ["--flag"], { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        const error = yield* runner.run("ci-test-no-such-program", ["--flag"]).pipe(Effect.flip)
        assert.match(error.message, /^could not run ci-test-no-such-program --flag: /)
      }))

    it.effect("ends the program when the run times out", () =>
      Effect.gen(function*() {
        const pidFile = join(scratch(), "pid")
        const args = ["-c", `echo $$ > ${pidFile}; exec sleep 600`]
        prestart("sh", args, { limit: defaultMaxOutputBytes })
        const runner = yield* Process
        const fiber = yield* Effect.forkChild(runner.run("sh", args, { timeout: "1 minute" }).pipe(Effect.flip))
        yield* waitFor(() => readFileSync(pidFile, { encoding: "utf8", flag: "a+" }).endsWith("\n"))
        const pid = Number(readFileSync(pidFile, "utf8").trim())
        assert.isTrue(isRunning(pid))
        yield* TestClock.adjust("1 minute")
        assert.instanceOf(yield* Fiber.join(fiber), ProcessTimedOut)
        yield* waitFor(() => !isRunning(pid))
        assert.isFalse(isRunning(pid), "the program is not left running")
      }))
  })

  describe("left untaken", () => {
    it("ends when the tool exits", () => {
      const pidFile = join(scratch(), "pid")
      // A process of its own, as the tool is: it prestarts, and exits without taking it.
      const script = `import { prestart } from ${JSON.stringify(join(repoRoot, "src/effects/prestarted.ts"))}
prestart("sh", ["-c", "echo $$ > ${pidFile}; exec sleep 600"], { limit: 1000 })
setTimeout(() => process.exit(0), 200)`
      const result = spawnSync(nodeBinary, ["--input-type=module", "-e", script], { encoding: "utf8" })
      assert.strictEqual(result.status, 0, result.stderr)
      const pid = Number(readFileSync(pidFile, "utf8").trim())
      const deadline = Date.now() + 10_000
      while (isRunning(pid) && Date.now() < deadline) spawnSync("sleep", ["0.05"])
      assert.isFalse(isRunning(pid), "the prestarted program outlived the tool")
    })
  })
})
