import { Option, Schema } from "effect"
import { stripVTControlCharacters } from "node:util"
import { logTails } from "../domain/logTails.ts"

/**
 * `nix build --log-format internal-json`: each stderr line `@nix {...}` is an event.
 * Activities start and stop; results (log lines, progress) belong to an activity;
 * messages carry errors, such as a builder that failed. `BuildLog` folds the events
 * into what happened to each derivation.
 *
 * Nix 2.8 stops a build's activity only when the whole build ends, so a successful
 * build's end is taken from the first of: its activity stopping, or the progress
 * count rising while it was the only build running (always the case with the
 * default of one build at a time).
 *
 * Later versions stop a build's activity as soon as it ends, but name a failed one
 * only afterwards, often when the whole build ends. A build whose activity stops
 * while Nix's progress counts a running build's failure not yet named is taken to
 * have failed, so it is shown as failed at once; Nix's message replaces the
 * placeholder when it comes.
 */

const Field = Schema.Union([Schema.String, Schema.Number])

export const NixLogEvent = Schema.Union([
  Schema.Struct({
    action: Schema.Literal("start"),
    id: Schema.Number,
    type: Schema.Number,
    text: Schema.optionalKey(Schema.String),
    fields: Schema.optionalKey(Schema.Array(Field))
  }),
  Schema.Struct({ action: Schema.Literal("stop"), id: Schema.Number }),
  Schema.Struct({ action: Schema.Literal("result"), id: Schema.Number, type: Schema.Number, fields: Schema.Array(Field) }),
  Schema.Struct({ action: Schema.Literal("msg"), level: Schema.Number, msg: Schema.String })
])
export type NixLogEvent = typeof NixLogEvent.Type

const decodeEvent = Schema.decodeUnknownOption(Schema.fromJsonString(NixLogEvent))

/** The event on a stderr line, if it is one (other lines are Nix talking plainly). */
export const parseLogLine = (line: string): Option.Option<NixLogEvent> =>
  line.startsWith("@nix ") ? decodeEvent(line.slice(5)) : Option.none()

// Nix's activity and result types (libutil/logging.hh).
const Activity = { Builds: 104, Build: 105, Substitute: 108 } as const
const Result = { BuildLogLine: 101, Progress: 105 } as const


// Nix 2.8 to 2.23 wording, then the "Cannot build … Reason: …" wording of later versions.
const builderFailed = [
  /builder for '([^']+\.drv)' failed with exit code (\d+)/,
  /Cannot build '([^']+\.drv)'\.\s+Reason: builder failed with exit code (\d+)/
]
const builderKilled = [
  /builder for '([^']+\.drv)' failed due to signal (\d+)/,
  /Cannot build '([^']+\.drv)'\.\s+Reason: builder failed due to signal (\d+)/
]
const dependenciesFailed = [
  /(\d+) dependenc(?:y|ies) of derivation '([^']+\.drv)' failed to build/,
  /Cannot build '([^']+\.drv)'\.\s+Reason: (\d+) dependenc(?:y|ies) failed/
]
const mentionedDerivation = /'(\/[^']+\.drv)'/

export interface BuildFailure {
  readonly exitCode?: number
  readonly signal?: number
  readonly message: string
}

export interface DerivationBuild {
  readonly drvPath: string
  /** The remote builder Nix sent the build to (its `builders` entry, as Nix names it); local builds have none. */
  readonly machine?: string | undefined
  readonly startedAt: number
  finishedAt: number | undefined
  failure: BuildFailure | undefined
  /** The last lines of the build's log, at most `logLineLimit`. */
  readonly lines: Array<string>
  lineCount: number
}

export interface Progress {
  readonly done: number
  readonly expected: number
  readonly running: number
  readonly failed: number
}

/** What an event changed, for a live display. */
export type LogChange =
  | { readonly _tag: "Started"; readonly build: DerivationBuild }
  | { readonly _tag: "Finished"; readonly build: DerivationBuild }
  | { readonly _tag: "Progress"; readonly progress: Progress }
  | { readonly _tag: "Line"; readonly build: DerivationBuild; readonly line: string }

export class BuildLog {
  readonly logLineLimit: number
  readonly builds = new Map<string, DerivationBuild>()
  /** Derivations Nix gave up on because a dependency failed, with how many failed. */
  readonly dependencyFailures = new Map<string, number>()
  /** Store paths fetched from a substituter (a binary cache). */
  readonly substituted = new Set<string>()
  /** Error messages that name no derivation this log tracks, in order. */
  readonly errors: Array<string> = []
  progress: Progress = { done: 0, expected: 0, running: 0, failed: 0 }
  private readonly activities = new Map<number, DerivationBuild>()
  private buildsActivity: number | undefined
  /** Running builds Nix's progress counted as failed, and started builds known to have failed. */
  private runningFailures = 0
  private failures = 0

  constructor(logLineLimit: number = logTails.build) {
    this.logLineLimit = logLineLimit
  }

  private unfinished(): Array<DerivationBuild> {
    return [...this.builds.values()].filter((build) => build.finishedAt === undefined)
  }

  private finish(build: DerivationBuild, at: number): LogChange | undefined {
    if (build.finishedAt !== undefined) return undefined
    build.finishedAt = at
    return { _tag: "Finished", build }
  }

  /** Fold one event in; what changed, in order (usually one change, often none). */
  apply(event: NixLogEvent, at: number): ReadonlyArray<LogChange> {
    const change = this.fold(event, at)
    return change === undefined ? [] : Array.isArray(change) ? change : [change as LogChange]
  }

  private fold(event: NixLogEvent, at: number): LogChange | ReadonlyArray<LogChange> | undefined {
    switch (event.action) {
      case "start": {
        const fields = event.fields ?? []
        if (event.type === Activity.Builds) this.buildsActivity = event.id
        if (event.type === Activity.Substitute && typeof fields[0] === "string") this.substituted.add(fields[0])
        if (event.type === Activity.Build && typeof fields[0] === "string") {
          // A build's fields: the derivation, then the machine building it ("" for this one).
          const machine = typeof fields[1] === "string" && fields[1] !== "" ? fields[1] : undefined
          const build: DerivationBuild = {
            drvPath: fields[0],
            ...(machine === undefined ? {} : { machine }),
            startedAt: at,
            finishedAt: undefined,
            failure: undefined,
            lines: [],
            lineCount: 0
          }
          this.builds.set(build.drvPath, build)
          this.activities.set(event.id, build)
          return { _tag: "Started", build }
        }
        return undefined
      }
      case "stop": {
        const build = this.activities.get(event.id)
        if (build === undefined) return undefined
        if (build.finishedAt === undefined && build.failure === undefined && this.runningFailures > this.failures) {
          build.failure = { message: "the builder failed; Nix says why when the build ends" }
          this.failures++
        }
        return this.finish(build, at)
      }
      case "result": {
        const build = this.activities.get(event.id)
        if (event.type === Result.BuildLogLine && build !== undefined && typeof event.fields[0] === "string") {
          const line = stripVTControlCharacters(event.fields[0])
          build.lines.push(line)
          build.lineCount++
          if (build.lines.length > this.logLineLimit) build.lines.shift()
          return { _tag: "Line", build, line }
        }
        if (event.type === Result.Progress && event.id === this.buildsActivity) {
          const [done, expected, running, failed] = event.fields.map(Number)
          const previous = this.progress
          this.progress = { done: done ?? 0, expected: expected ?? 0, running: running ?? 0, failed: failed ?? 0 }
          // Builds that stopped running without being counted done, as far as they account for new failures.
          const stopped = previous.running - this.progress.running - (this.progress.done - previous.done)
          this.runningFailures += Math.max(0, Math.min(this.progress.failed - previous.failed, stopped))
          const unfinished = this.unfinished()
          const finished = this.progress.done > previous.done && unfinished.length === 1 ? this.finish(unfinished[0]!, at) : undefined
          const progress: LogChange = { _tag: "Progress", progress: this.progress }
          return finished === undefined ? progress : [finished, progress]
        }
        return undefined
      }
      case "msg":
        return event.level === 0 ? this.error(stripVTControlCharacters(event.msg).replace(/^error:\s*/, ""), at) : undefined
    }
  }

  private error(message: string, at: number): LogChange | undefined {
    for (const pattern of builderFailed) {
      const match = pattern.exec(message)
      if (match !== null) return this.fail(match[1]!, { exitCode: Number(match[2]), message }, at)
    }
    for (const pattern of builderKilled) {
      const match = pattern.exec(message)
      if (match !== null) return this.fail(match[1]!, { signal: Number(match[2]), message }, at)
    }
    const dependency = dependenciesFailed.map((pattern) => pattern.exec(message)).find((match) => match !== null)
    if (dependency !== undefined && dependency !== null) {
      const [count, drvPath] = /^\d/.test(dependency[1]!) ? [dependency[1]!, dependency[2]!] : [dependency[2]!, dependency[1]!]
      this.dependencyFailures.set(drvPath, Number(count))
      return undefined
    }
    const mentioned = mentionedDerivation.exec(message)?.[1]
    if (mentioned !== undefined && this.builds.has(mentioned)) return this.fail(mentioned, { message }, at)
    this.errors.push(message)
    return undefined
  }

  private fail(drvPath: string, failure: BuildFailure, at: number): LogChange | undefined {
    const build = this.builds.get(drvPath)
    if (build !== undefined && build.failure === undefined) this.failures++
    if (build === undefined) {
      // A failure before the build started (a fixed-output hash mismatch reported late, say).
      const created: DerivationBuild = { drvPath, startedAt: at, finishedAt: undefined, failure, lines: [], lineCount: 0 }
      this.builds.set(drvPath, created)
      return this.finish(created, at)
    }
    build.failure = failure
    return this.finish(build, at)
  }

  /** Builds still open when Nix exits end then. */
  close(at: number): void {
    for (const build of this.unfinished()) build.finishedAt = at
  }
}
