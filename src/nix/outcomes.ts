import { logTails } from "../domain/logTails.ts"
import { type DerivationResult, targetKey } from "../domain/results.ts"
import type { BuildLog, DerivationBuild } from "./buildLog.ts"
import { derivationsOf, type Target } from "./target.ts"

/**
 * Each target's outcome, from what the store said before and after the build and
 * what the build's log said. Output paths come from evaluation and store validity,
 * never from `nix build --json` (which prints nothing on Nix 2.8 when anything fails).
 */

/** `/nix/store/abc…-bot-1.0.drv` → `bot-1.0`. */
export const derivationName = (drvPath: string): string => drvPath.replace(/^.*\/[0-9a-z]{32}-/, "").replace(/\.drv$/, "")

export interface BuildRun {
  /** Null when a signal ended Nix. */
  readonly exitCode: number | null
  /** The signal that ended Nix itself (the OOM killer's SIGKILL, say), if one did. */
  readonly signal?: string | undefined
  readonly log: BuildLog
  /** Nix's plain (non-JSON) stderr, for failures outside any derivation. */
  readonly stderrTail: string
}

/**
 * Why a build failed outside any one derivation: how Nix ended if a signal ended it,
 * then every error it gave that no derivation's build claimed, whole and in order
 * (else the end of its plain stderr), else its exit code. Undefined only when Nix
 * exited 0 and said nothing.
 */
export const generalBuildError = (run: BuildRun): string | undefined => {
  const said = run.log.errors.length > 0 ? run.log.errors.join("\n") : run.stderrTail.trim()
  const ended = run.signal !== undefined
    ? `nix build was killed by ${run.signal}`
    : run.exitCode !== 0 && said === ""
    ? `nix build exited with code ${run.exitCode}`
    : undefined
  return [ended, said].filter((part) => part !== undefined && part !== "").join(": ") || undefined
}

export interface Observations {
  readonly invalidBefore: ReadonlySet<string>
  readonly invalidAfter: ReadonlySet<string>
  /** Absent when nothing needed building. */
  readonly log: BuildLog | undefined
  /** Why Nix failed outside any one derivation, when it did. */
  readonly generalError: string | undefined
  /** For each derivation that did not build, the derivations in its closure. */
  readonly closures: ReadonlyMap<string, ReadonlyArray<string>>
}

const base = (target: Target) => ({
  version: 1 as const,
  kind: "build" as const,
  target: targetKey(target.installable),
  installable: target.installable,
  exitCode: null,
  signal: null,
  error: null,
  failedDependencies: [],
  logTail: [],
  logTruncated: 0,
  logCommand: null
})

const tail = (build: DerivationBuild | undefined) => {
  const lines = build?.lines.slice(-logTails.result) ?? []
  return { logTail: lines, logTruncated: (build?.lineCount ?? 0) - lines.length }
}

export const outcomeOf = (target: Target, seen: Observations): DerivationResult => {
  if (target._tag === "Unresolved") {
    return { ...base(target), name: null, drvPath: null, outputs: {}, status: "failed", durationMs: null, error: target.reason }
  }
  const drvPath = derivationsOf(target)[0] ?? null
  const outputs = Object.values(target.outputs)
  const common = {
    ...base(target),
    name: drvPath === null ? null : derivationName(drvPath),
    drvPath,
    outputs: target.outputs
  }
  if (outputs.every((output) => !seen.invalidBefore.has(output))) return { ...common, status: "cached", durationMs: null }

  const derivations = derivationsOf(target)
  const builds = derivations.flatMap((drv) => seen.log?.builds.get(drv) ?? [])
  const build = builds.find((found) => found.failure !== undefined) ?? builds[0]
  const durationMs = build?.finishedAt === undefined ? null : Math.max(0, build.finishedAt - build.startedAt)
  if (outputs.every((output) => !seen.invalidAfter.has(output))) {
    const substituted = outputs.some((output) => seen.log?.substituted.has(output))
    return build === undefined && substituted
      ? { ...common, status: "substituted", durationMs: null }
      : { ...common, status: "built", durationMs, ...tail(build) }
  }

  if (build?.failure !== undefined) {
    return {
      ...common,
      status: "failed",
      durationMs,
      exitCode: build.failure.exitCode ?? null,
      signal: build.failure.signal ?? null,
      error: build.failure.message,
      ...tail(build),
      logCommand: `nix log ${build.drvPath}`
    }
  }
  const failedDependencies = [...new Set(derivations.flatMap((drv) => seen.closures.get(drv) ?? []))]
    .filter((path) => !derivations.includes(path) && seen.log?.builds.get(path)?.failure !== undefined)
    .map(derivationName)
  if (failedDependencies.length > 0) {
    return {
      ...common,
      status: "dependency-failed",
      durationMs: null,
      failedDependencies,
      error: `${failedDependencies.length === 1 ? "a dependency" : `${failedDependencies.length} dependencies`} failed: ${failedDependencies.join(", ")}`
    }
  }
  // Nix said why, but not as a builder's failure: a derivation it would not build
  // here (another system's, say), or a reason outside any derivation.
  const mentioned = seen.log?.errors.filter((message) => derivations.some((drv) => message.includes(drv))) ?? []
  return {
    ...common,
    status: "failed",
    durationMs,
    error: mentioned.length > 0 ? mentioned.join("\n") : seen.generalError ?? "nix build did not produce its outputs",
    ...tail(build)
  }
}
