import { Clock, Console, Effect, FileSystem, Layer, Option, Schema } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { PlannedBuildsChunk, PlannedBuildsIndex, plannedBuildsChunkKey } from "../domain/plannedBuilds.ts"
import { type BuildSummary, type DerivationResult, isBuildPart, resultEntry } from "../domain/results.ts"
import { BuildkiteAgent } from "../effects/BuildkiteAgent.ts"
import { Process } from "../effects/Process.ts"
import { Reporter } from "../effects/Reporter.ts"
import { BinaryCache } from "../nix/BinaryCache.ts"
import { Nix } from "../nix/Nix.ts"
import { generalBuildError, outcomeOf } from "../nix/outcomes.ts"
import { derivationsOf, type Target } from "../nix/target.ts"
import { BuildProgressView, type ProgressMode } from "../render/buildProgress.ts"
import { buildSummary, countStatuses } from "../render/summary.ts"
import { reporterFor } from "./reporting.ts"
import { services } from "./services.ts"

export class BuildFailed extends Schema.TaggedError<BuildFailed>()("BuildFailed", {
  failed: Schema.Array(Schema.String),
  total: Schema.Int
}) {
  override get message() {
    return `${this.failed.length} of ${this.total} targets did not build: ${this.failed.join(", ")}`
  }
}

const unique = <A>(items: ReadonlyArray<A>): ReadonlyArray<A> => [...new Set(items)]

const progressMode = (buildkite: boolean): ProgressMode =>
  buildkite ? "buildkite" : process.stdout.isTTY === true ? "terminal" : "plain"

/** Where a build's progress goes: lines above, and a status line rewritten in place. */
export type ProgressSink = (output: { readonly lines: ReadonlyArray<string>; readonly status?: string | undefined }) => Effect.Effect<void>

/** A progress line rewritten in place on stdout; other lines go above it. */
const stdoutProgress = (): { readonly sink: ProgressSink; readonly end: Effect.Effect<void> } => {
  let statusShown = false
  return {
    sink: (output) =>
      Effect.sync(() => {
        if (statusShown && output.lines.length > 0) process.stdout.write("\r\x1b[2K")
        for (const line of output.lines) process.stdout.write(`${line}\n`)
        if (output.status !== undefined) {
          process.stdout.write(`\r\x1b[2K${output.status}`)
          statusShown = true
        }
      }),
    end: Effect.sync(() => {
      if (statusShown) process.stdout.write("\n")
    })
  }
}

/**
 * Build every target in one `nix build --keep-going`, and say what happened to
 * each: built, cached, substituted, failed, or dependency-failed. `tool build` and
 * `tool run` share it.
 */
export const buildTargets = Effect.fn("buildTargets")(function*(
  installables: ReadonlyArray<string>,
  mode: ProgressMode,
  sink: ProgressSink
) {
  const nix = yield* Nix
  const startedAt = yield* Clock.currentTimeMillis

  const targets = yield* nix.resolve(installables)
  const resolved = targets.filter((target): target is Exclude<Target, { _tag: "Unresolved" }> => target._tag !== "Unresolved")
  const invalidBefore = yield* nix.invalidPaths(unique(resolved.flatMap((target) => Object.values(target.outputs))))
  const pending = resolved.filter((target) => Object.values(target.outputs).some((output) => invalidBefore.has(output)))

  const view = new BuildProgressView(mode)
  const run = pending.length === 0 ? undefined : yield* nix.build(
    unique(pending.flatMap(derivationsOf)),
    (change, log) => sink(view.onChange(change, log))
  )

  const invalidAfter = run === undefined ? new Set<string>() : yield* nix.invalidPaths(unique(pending.flatMap((target) => Object.values(target.outputs))))
  const unbuilt = pending.filter((target) => Object.values(target.outputs).some((output) => invalidAfter.has(output)))
  // Only for what did not build: which failed derivations its closure holds.
  const closures = new Map(yield* Effect.forEach(
    unique(unbuilt.flatMap(derivationsOf)),
    (drvPath) => Effect.map(nix.requisites(drvPath), (paths) => [drvPath, paths] as const),
    { concurrency: 4 }
  ))
  const generalError = run === undefined ? undefined : generalBuildError(run)
  const results = targets.map((target) =>
    outcomeOf(target, { invalidBefore, invalidAfter, log: run?.log, generalError, closures })
  )
  // What this run built (never what it substituted or found), for the binary cache.
  const built = run === undefined ? [] : [...run.log.builds.values()].filter((entry) => entry.failure === undefined).map((entry) => entry.drvPath)
  return { results, built, durationMs: (yield* Clock.currentTimeMillis) - startedAt }
})

/** The targets that did not build, as the command's failure. */
export const failedBuild = (results: ReadonlyArray<DerivationResult>): BuildFailed | undefined => {
  const failed = results.filter((result) => result.status === "failed" || result.status === "dependency-failed")
  return failed.length === 0 ? undefined : new BuildFailed({ failed: failed.map((result) => result.target), total: results.length })
}

const runBuild = Effect.fn("build")(function*(input: {
  readonly installables: ReadonlyArray<string>
  readonly json: Option.Option<string>
  readonly part: string | undefined
}) {
  const reporter = yield* Reporter
  const progress = stdoutProgress()
  const { results, built, durationMs } = yield* buildTargets(input.installables, progressMode(reporter.inBuildkite), progress.sink).pipe(
    Effect.ensuring(progress.end)
  )

  yield* reportResults(results, durationMs, input.part)
  if (Option.isSome(input.json)) {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(input.json.value, `${JSON.stringify({ version: 1, durationMs, results }, null, 2)}\n`).pipe(Effect.orDie)
  }
  // What this run built goes to the cache, failures or not.
  yield* pushBuilt(built)
  const failed = failedBuild(results)
  if (failed !== undefined) return yield* failed
})

/** The valid outputs of the derivations built, signed and copied to the binary cache, when there is one. */
const pushBuilt = Effect.fnUntraced(function*(drvPaths: ReadonlyArray<string>) {
  const cache = yield* BinaryCache
  if (cache.settings === undefined || drvPaths.length === 0) return
  const nix = yield* Nix
  const outputs = yield* nix.outputsOf(drvPaths)
  const invalid = yield* nix.invalidPaths(outputs)
  const startedAt = yield* Clock.currentTimeMillis
  const outcome = yield* cache.push(outputs.filter((output) => !invalid.has(output)))
  const seconds = (((yield* Clock.currentTimeMillis) - startedAt) / 1000).toFixed(1)
  if (outcome._tag === "Pushed") {
    yield* Console.error(`pushed ${outcome.paths.length} built outputs${outcome.signed ? ", signed," : ""} to ${outcome.cache} in ${seconds} s`)
  } else if (outcome._tag === "ReadOnly") {
    yield* Console.error(`not pushed: ${outcome.cache} is a cache Nix can only read from`)
  }
})

const reportResults = Effect.fnUntraced(function*(results: ReadonlyArray<DerivationResult>, durationMs: number, part: string | undefined) {
  const reporter = yield* Reporter
  const record = (result: DerivationResult | BuildSummary) => {
    const entry = resultEntry(result)
    return reporter.record(entry.key, entry.value)
  }
  yield* Effect.forEach(results, record, { concurrency: 8, discard: true })
  const summary: BuildSummary = {
    version: 1,
    kind: "build-summary",
    targets: results.map((result) => result.target),
    counts: countStatuses(results),
    durationMs,
    ...(part === undefined ? {} : { part })
  }
  yield* record(summary)
  yield* reporter.summarise(buildSummary(results, durationMs, part))
})

/** The installables `tool plan` left in meta-data, when there were too many for the command line. */
const plannedInstallables = Effect.fn("plannedInstallables")(function*(key: string) {
  const agent = yield* BuildkiteAgent
  const read = <A>(itemKey: string, schema: Schema.Codec<A, string>) =>
    agent.getMetaData(itemKey).pipe(
      Effect.flatMap((text) => Schema.decodeUnknownEffect(schema)(text.trim())),
      Effect.mapError((error) =>
        Schema.isSchemaError(error) ? new PlanInputError({ place: `meta-data ${itemKey}`, detail: error.message }) : error
      )
    )
  const index = yield* read(key, PlannedBuildsIndex)
  const chunks = yield* Effect.forEach(Array.from({ length: index.chunks }, (_, i) => plannedBuildsChunkKey(key, i)), (chunkKey) => read(chunkKey, PlannedBuildsChunk))
  return chunks.flat()
})

/** `tool build`: its flags and help are src/cli/build.ts's. */
export const build = (input: {
  readonly installables: ReadonlyArray<string>
  readonly fromMetaData: Option.Option<string>
  readonly json: Option.Option<string>
  readonly part: Option.Option<string>
  readonly local: boolean
}) =>
  Effect.gen(function*() {
    const part = Option.getOrUndefined(input.part)
    if (part !== undefined && !isBuildPart(part)) {
      return yield* new PlanInputError({ place: "--part", detail: `expected letters, digits, _ . or - (at most 64), got ${JSON.stringify(part)}` })
    }
    const installables = [
      ...input.installables,
      ...(Option.isSome(input.fromMetaData) ? yield* plannedInstallables(input.fromMetaData.value) : [])
    ]
    if (installables.length === 0) {
      return yield* new PlanInputError({ place: "tool build", detail: "nothing to build: give installables, or --from-meta-data" })
    }
    return yield* runBuild({ installables, json: input.json, part }).pipe(Effect.provide(reporterFor(input.local)))
  }).pipe(Effect.provide(Layer.merge(services, BinaryCache.layer.pipe(Layer.provide(Process.layer)))))
