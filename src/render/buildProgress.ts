import type { BuildLog, DerivationBuild, LogChange } from "../nix/buildLog.ts"
import { derivationName } from "../nix/outcomes.ts"
import { formatDuration, indentedTail } from "./summary.ts"

/**
 * What `tool build` shows while Nix builds. In Buildkite: a log group per
 * derivation, the one building alone streamed live, others printed whole when they
 * end, a failed one's group expanded. On a terminal: one progress line, rewritten
 * in place. Anywhere else: a line per derivation as it ends. Pure: it says what to
 * print; the command prints it.
 */

export type ProgressMode = "buildkite" | "terminal" | "plain"

export interface ProgressOutput {
  /** Lines to print, in order. */
  readonly lines: ReadonlyArray<string>
  /** The terminal's progress line, when it changed. */
  readonly status?: string
}

/** ` on <machine>` for a build Nix sent to a remote builder. */
const where = (build: DerivationBuild): string => (build.machine === undefined ? "" : ` on ${build.machine}`)

const ended = (build: DerivationBuild): string => {
  const took = build.finishedAt === undefined ? "" : ` after ${formatDuration(build.finishedAt - build.startedAt)}`
  if (build.failure === undefined) return `built ${derivationName(build.drvPath)}${where(build)}${took}`
  return `failed ${derivationName(build.drvPath)}${where(build)}${took}: ${build.failure.message}`
}

export class BuildProgressView {
  private readonly mode: ProgressMode
  /** The derivation whose log is streaming into the open group (Buildkite). */
  private streaming: string | undefined
  /** The most Nix ever expected: it stops expecting what a failure cut off, and the total must not shrink. */
  private total = 0

  constructor(mode: ProgressMode) {
    this.mode = mode
  }

  private groupHeader(build: DerivationBuild): string {
    return `--- :nix: ${derivationName(build.drvPath)}${where(build)}`
  }

  private whole(build: DerivationBuild): ReadonlyArray<string> {
    const cut = build.lineCount - build.lines.length
    return [
      this.groupHeader(build),
      ...(cut > 0 ? [`… ${cut} earlier lines: nix log ${build.drvPath}`] : []),
      ...build.lines,
      ended(build),
      ...(build.failure === undefined ? [] : ["^^^ +++"])
    ]
  }

  onChange(change: LogChange, log: BuildLog): ProgressOutput {
    switch (this.mode) {
      case "buildkite":
        return { lines: this.buildkite(change, log) }
      case "terminal":
        return {
          lines: change._tag === "Finished" && change.build.failure !== undefined
            ? [ended(change.build), ...indentedTail(change.build.lines)]
            : [],
          ...(change._tag === "Line" ? {} : { status: this.statusLine(log) })
        }
      case "plain":
        return {
          lines: change._tag !== "Finished"
            ? []
            : [ended(change.build), ...(change.build.failure === undefined ? [] : indentedTail(change.build.lines))]
        }
    }
  }

  private buildkite(change: LogChange, log: BuildLog): ReadonlyArray<string> {
    switch (change._tag) {
      case "Started":
        if (this.streaming !== undefined) return []
        this.streaming = change.build.drvPath
        return [this.groupHeader(change.build)]
      case "Line":
        return change.build.drvPath === this.streaming ? [change.line] : []
      case "Progress":
        return []
      case "Finished": {
        if (change.build.drvPath !== this.streaming) return this.whole(change.build)
        this.streaming = undefined
        const next = [...log.builds.values()].find((build) => build.finishedAt === undefined)
        const own = [ended(change.build), ...(change.build.failure === undefined ? [] : ["^^^ +++"])]
        if (next === undefined) return own
        // The next running build takes over the stream, from what it has logged so far.
        this.streaming = next.drvPath
        return [...own, this.groupHeader(next), ...next.lines]
      }
    }
  }

  private statusLine(log: BuildLog): string {
    const running = [...log.builds.values()].filter((build) => build.finishedAt === undefined).map((build) => derivationName(build.drvPath))
    const { done, expected, failed } = log.progress
    this.total = Math.max(this.total, expected)
    // What a failure cut off: Nix no longer expects it, and it neither built nor failed itself.
    const cut = this.total - expected - failed
    const counts = `${failed > 0 ? `, ${failed} failed` : ""}${cut > 0 ? `, ${cut} not started` : ""}`
    return `[${done}/${this.total} built${counts}]${running.length > 0 ? ` building ${running.join(", ")}` : ""}`
  }
}
