import { Schema } from "effect"
import { parseInstallable, showAttrPath } from "./installable.ts"
import { type MetaDataEntry, metaDataKeys, metaDataLimitBytes } from "./metaData.ts"

/**
 * What `tool check`, `tool build` and `tool deploy` record: one JSON value per
 * check, derivation and deploy step, in Buildkite meta-data under `metaDataKeys`.
 * This is the contract the Discord bot reads; docs/metadata.md describes it. Every
 * value carries `version`; a change that breaks readers raises it.
 */

/** A result's key: the attribute path for this repository's flake, the installable otherwise. */
export const targetKey = (installable: string): string => {
  const parsed = parseInstallable(installable)
  return parsed !== undefined && (parsed.flakeRef === "." || parsed.flakeRef.startsWith("./"))
    ? showAttrPath(parsed.attrPath)
    : installable
}

const Millis = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Tail = Schema.Array(Schema.String)

/** One run of a program: a check, or one attempt of a deploy. */
export const Run = Schema.Struct({
  /** When the run started, as an ISO 8601 time. */
  startedAt: Schema.String,
  durationMs: Millis,
  /** The program's exit code; null when it did not run or was killed by a signal. */
  exitCode: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  /** Why it failed before the program ran (its target did not build), if it did. */
  error: Schema.NullOr(Schema.String),
  /** The last lines the program printed (stdout and stderr, interleaved). */
  outputTail: Tail,
  /** Lines left out of `outputTail` to keep the value within Buildkite's limit. */
  outputTruncated: Schema.Int
})
export type Run = typeof Run.Type

/** What a check's and a deploy step's results share: the step, its target, how it ended. */
const StepFields = {
  version: Schema.Literal(1),
  name: Schema.String,
  /** The installable it ran, for example `.#apps.x86_64-linux.lint`. */
  target: Schema.String,
  status: Schema.Literals(["passed", "failed"])
}

export const CheckResult = Schema.Struct({ ...StepFields, kind: Schema.Literal("check"), run: Run })
export type CheckResult = typeof CheckResult.Type

export const DeployResult = Schema.Struct({
  ...StepFields,
  kind: Schema.Literal("deploy"),
  /** Every attempt, the last deciding `status`. */
  attempts: Schema.Array(Run)
})
export type DeployResult = typeof DeployResult.Type

export const BuildStatus = Schema.Literals(["built", "cached", "substituted", "failed", "dependency-failed"])
export type BuildStatus = typeof BuildStatus.Type

export const DerivationResult = Schema.Struct({
  version: Schema.Literal(1),
  kind: Schema.Literal("build"),
  /** The attribute path (`packages.x86_64-linux.bot`), or the installable when it has none. */
  target: Schema.String,
  installable: Schema.String,
  /** The derivation's name (`bot-1.0.0`); null when it did not evaluate. */
  name: Schema.NullOr(Schema.String),
  drvPath: Schema.NullOr(Schema.String),
  outputs: Schema.Record(Schema.String, Schema.String),
  status: BuildStatus,
  /** How long its build took; null when it was not built here. */
  durationMs: Schema.NullOr(Millis),
  exitCode: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.Int),
  /** What failed, in one line: Nix's message, or the evaluation error. */
  error: Schema.NullOr(Schema.String),
  /** For `dependency-failed`: the derivations that failed in its closure. */
  failedDependencies: Schema.Array(Schema.String),
  logTail: Tail,
  logTruncated: Schema.Int,
  /** The command that prints the whole log. */
  logCommand: Schema.NullOr(Schema.String)
})
export type DerivationResult = typeof DerivationResult.Type

export const BuildSummary = Schema.Struct({
  version: Schema.Literal(1),
  kind: Schema.Literal("build-summary"),
  /** The `target` of every derivation result, in order: each is under `ci:build:<target>`. */
  targets: Schema.Array(Schema.String),
  counts: Schema.Record(BuildStatus, Schema.Int),
  durationMs: Millis,
  /** The share of the builds this step built, when they were split (`tool build --part`). */
  part: Schema.optionalKey(Schema.String)
})
export type BuildSummary = typeof BuildSummary.Type

/** JSON within Buildkite's 100 KB, trimming more and more until it fits or cannot shrink. */
const fitToMetaData = <A extends object>(
  value: A,
  trim: (value: A, dropLines: number) => A
): string => {
  const fits = (text: string) => Buffer.byteLength(text) <= metaDataLimitBytes
  let text = JSON.stringify(value)
  for (let drop = 1; !fits(text); drop *= 2) {
    const trimmed = JSON.stringify(trim(value, drop))
    if (trimmed === text) break
    text = trimmed
  }
  return text
}

const trimRun = (run: Run, drop: number): Run => ({
  ...run,
  outputTail: run.outputTail.slice(Math.min(drop, run.outputTail.length)),
  outputTruncated: run.outputTruncated + Math.min(drop, run.outputTail.length)
})

const trimDerivation = (result: DerivationResult, drop: number): DerivationResult => ({
  ...result,
  logTail: result.logTail.slice(Math.min(drop, result.logTail.length)),
  logTruncated: result.logTruncated + Math.min(drop, result.logTail.length)
})

/**
 * A result as the meta-data it is recorded as: its key, and its JSON within
 * Buildkite's 100 KB. The oldest lines of a log tail go first, and the count of those
 * left out is recorded, so the value stays valid JSON.
 */
export const resultEntry = (result: CheckResult | DeployResult | DerivationResult | BuildSummary): MetaDataEntry => {
  switch (result.kind) {
    case "check":
      return { key: metaDataKeys.check(result.name), value: fitToMetaData(result, (value, drop) => ({ ...value, run: trimRun(value.run, drop) })) }
    case "deploy":
      return {
        key: metaDataKeys.deploy(result.name),
        value: fitToMetaData(result, (value, drop) => ({ ...value, attempts: value.attempts.map((run) => trimRun(run, drop)) }))
      }
    case "build":
      return { key: metaDataKeys.build(result.target), value: fitToMetaData(result, trimDerivation) }
    case "build-summary":
      return { key: result.part === undefined ? metaDataKeys.buildSummary : metaDataKeys.buildPart(result.part), value: JSON.stringify(result) }
  }
}

/** A build step's part (`tool build --part`): it names meta-data keys and an annotation's context. */
export const isBuildPart = (part: string): boolean => /^[A-Za-z0-9_.-]{1,64}$/.test(part)
