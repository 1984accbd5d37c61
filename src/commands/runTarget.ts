import { Clock, Console, DateTime, Effect, Runtime, Schema } from "effect"
import { logTails } from "../domain/logTails.ts"
import { type CheckResult, type DeployResult, resultEntry, Run } from "../domain/results.ts"
import { Process } from "../effects/Process.ts"
import { Reporter } from "../effects/Reporter.ts"
import { type FailureKind, classifyFailure } from "../nix/failures.ts"
import { Nix } from "../nix/Nix.ts"
import { generalBuildError } from "../nix/outcomes.ts"
import { derivationsOf } from "../nix/target.ts"
import { checkSummary, deploySummary, runOutcome } from "../render/summary.ts"
import type { AttemptOutcome } from "./retries.ts"

/**
 * What `tool check` and `tool deploy` share: realise a target as `nix run` would,
 * then run its program with its output streaming into a log group, keeping the
 * last lines. Building first and running second tells a failure of Nix (which may
 * be transient) from a failure of the program (which is the result).
 */

/** A check or deploy step that did not pass: the process exits as the program last did (1 when it never ran). */
export class TargetFailed extends Schema.TaggedError<TargetFailed>()("TargetFailed", {
  step: Schema.Literals(["check", "deploy"]),
  name: Schema.String,
  attempts: Schema.Int,
  last: Run
}) {
  override get [Runtime.errorExitCode]() {
    return this.last.exitCode !== null && this.last.exitCode > 0 ? this.last.exitCode : 1
  }
  override get message() {
    return `${this.step} ${this.name} failed${this.attempts > 1 ? ` after ${this.attempts} attempts` : ""}: ${runOutcome(this.last)}`
  }
}

export interface Attempt extends AttemptOutcome {
  readonly run: Run
}

export const runTarget = Effect.fn("runTarget")(function*(target: string, title: string) {
  const nix = yield* Nix
  const runner = yield* Process
  const reporter = yield* Reporter
  // A run's time is the program's own, or, when it never ran, the time spent trying to get it ready.
  let startedAt = yield* Clock.currentTimeMillis
  const finish = (attempt: Omit<Attempt, "run"> & { readonly run: Omit<Run, "startedAt" | "durationMs"> }) =>
    Effect.map(Clock.currentTimeMillis, (now): Attempt => ({
      ...attempt,
      run: { ...attempt.run, startedAt: DateTime.formatIso(DateTime.makeUnsafe(startedAt)), durationMs: now - startedAt }
    }))
  const notRun = (error: string, kind: FailureKind) =>
    finish({
      passed: false,
      phase: "prepare",
      kind,
      run: { exitCode: null, signal: null, error, outputTail: [], outputTruncated: 0 }
    })

  const prepared = yield* Effect.gen(function*() {
    const [resolved] = yield* nix.resolve([target])
    if (resolved === undefined || resolved._tag === "Unresolved") {
      const reason = resolved?.reason ?? "no target"
      return yield* notRun(`${target} did not evaluate: ${reason}`, classifyFailure(reason))
    }
    const outputs = Object.values(resolved.outputs)
    if ((yield* nix.invalidPaths(outputs)).size === 0) return resolved
    const build = yield* nix.build(derivationsOf(resolved), () => Effect.void)
    if ((yield* nix.invalidPaths(outputs)).size > 0) {
      const failed = [...build.log.builds.values()].find((entry) => entry.failure !== undefined)
      const why = failed?.failure?.message ?? generalBuildError(build) ?? "nix build failed"
      const lines = failed?.lines.slice(-logTails.result) ?? []
      const attempt = yield* notRun(`${target} did not build: ${why}`, classifyFailure([why, ...build.log.errors, build.stderrTail].join("\n")))
      return { ...attempt, run: { ...attempt.run, outputTail: lines } }
    }
    return resolved
  }).pipe(
    // Nix itself failing (its store unreachable, say) is an attempt that failed, transient or not.
    Effect.catch((error) => notRun(error.message, error.kind))
  )
  if ("passed" in prepared) return prepared
  const resolved = prepared

  yield* reporter.group(title)
  startedAt = yield* Clock.currentTimeMillis
  const tail: Array<string> = []
  let lineCount = 0
  const result = yield* runner.run(resolved.program, [], {
    allowFailure: true,
    timeout: "12 hours",
    onLine: (line, stream) => {
      tail.push(line)
      lineCount++
      if (tail.length > logTails.result) tail.shift()
      return stream === "stdout" ? Console.log(line) : Console.error(line)
    }
  }).pipe(Effect.result)
  // The program could not be started at all (a package without the program `nix run` would start).
  if (result._tag === "Failure") return yield* notRun(result.failure.message, "permanent")
  const { exitCode, signal } = result.success
  return yield* finish({
    passed: exitCode === 0,
    phase: "program",
    kind: "permanent",
    run: { exitCode, signal: signal ?? null, error: null, outputTail: tail, outputTruncated: lineCount - tail.length }
  })
})

/**
 * The end of a check or a deploy step: its result, from every attempt, recorded and
 * summarised; the command then fails as the last attempt did.
 */
export const finishStep = Effect.fnUntraced(function*(
  step: { readonly kind: "check" | "deploy"; readonly name: string; readonly target: string },
  attempts: ReadonlyArray<Attempt>
) {
  const reporter = yield* Reporter
  const { kind, name, target } = step
  const last = attempts.at(-1)!
  const status = last.passed ? "passed" : "failed"
  const result: CheckResult | DeployResult = kind === "check"
    ? { version: 1, kind, name, target, status, run: last.run }
    : { version: 1, kind, name, target, status, attempts: attempts.map((attempt) => attempt.run) }
  const entry = resultEntry(result)
  yield* reporter.record(entry.key, entry.value)
  yield* reporter.summarise(result.kind === "check" ? checkSummary(result) : deploySummary(result))
  if (!last.passed) return yield* new TargetFailed({ step: kind, name, attempts: attempts.length, last: last.run })
})
