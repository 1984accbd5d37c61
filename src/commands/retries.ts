import { Duration, Schedule } from "effect"
import type { FailureKind } from "../nix/failures.ts"

/**
 * When a deploy step is tried again. A deploy is not assumed idempotent: the
 * program itself is run again only as many times as the step's `retries` allows.
 * A transient failure before the program ran (Nix could not reach its store, a
 * download failed, a builder was killed) deployed nothing, so it is retried up to
 * `transientRetries` times whatever `retries` says. A permanent failure before the
 * program ran (an evaluation error, a builder's own failure) is never retried.
 */

export interface AttemptOutcome {
  readonly passed: boolean
  /** Where it failed: before the program ran, or the program itself. */
  readonly phase: "prepare" | "program"
  readonly kind: FailureKind
}

export const transientRetries = 2

export const shouldRetry = (attempts: ReadonlyArray<AttemptOutcome>, retries: number): boolean => {
  const last = attempts.at(-1)
  if (last === undefined || last.passed) return false
  if (last.phase === "prepare") {
    return last.kind === "transient" && attempts.filter((a) => a.phase === "prepare" && a.kind === "transient").length <= transientRetries
  }
  return attempts.filter((a) => a.phase === "program").length <= retries
}

/** Capped exponential backoff with jitter: base, twice base, … at most a minute, each 80–120%. */
export const retryDelays = (base: Duration.Input) =>
  Schedule.min([Schedule.exponential(base), Schedule.spaced("1 minute")]).pipe(Schedule.jittered)
