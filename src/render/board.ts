import { logTails } from "../domain/logTails.ts"
import { formatDuration } from "./summary.ts"

/**
 * `tool run`'s board: one row per check, the build and each deploy step, with its
 * state, its time, and under a failure the end of its log.
 */

export type RowState = "waiting" | "running" | "passed" | "failed" | "skipped"

export interface BoardRow {
  readonly key: string
  readonly label: string
  readonly state: RowState
  readonly startedAt?: number | undefined
  readonly durationMs?: number | undefined
  /** What the row is doing or why it ended: a progress line, an exit code. */
  readonly detail?: string | undefined
  /** The end of the log, shown under a failed row. */
  readonly tail?: ReadonlyArray<string> | undefined
}

const marks: Record<RowState, string> = { waiting: "·", running: "▸", passed: "✓", failed: "✗", skipped: "-" }
const colours: Record<RowState, string> = { waiting: "2", running: "36", passed: "32", failed: "31", skipped: "33" }

const paint = (colour: boolean, code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text)

/** One row as one line: its mark, label, time (so far, while running) and detail. */
export const rowLine = (row: BoardRow, now: number, colour: boolean): string => {
  const elapsed = row.durationMs ?? (row.state === "running" && row.startedAt !== undefined ? now - row.startedAt : undefined)
  const time = elapsed === undefined ? "" : ` ${paint(colour, "2", formatDuration(elapsed))}`
  const detail = row.detail === undefined || row.detail === "" ? "" : `  ${row.detail}`
  return `${paint(colour, colours[row.state], marks[row.state])} ${row.label}${time}${detail}`
}

/** The failing log's last lines, indented under its row. */
export const tailLines = (row: BoardRow): ReadonlyArray<string> =>
  row.state === "failed" ? (row.tail ?? []).slice(-logTails.shown).map((line) => `    ${line}`) : []

/** The whole board, as the lines a terminal redraws in place. */
export const boardLines = (rows: ReadonlyArray<BoardRow>, now: number, colour: boolean): ReadonlyArray<string> =>
  rows.flatMap((row) => [rowLine(row, now, colour), ...tailLines(row)])

/** How a run ended, in one line. */
export const runTally = (rows: ReadonlyArray<BoardRow>, wallMs: number): string => {
  const count = (state: RowState) => rows.filter((row) => row.state === state).length
  const parts = [`${count("passed")} passed`, `${count("failed")} failed`]
  if (count("skipped") > 0) parts.push(`${count("skipped")} skipped`)
  return `${parts.join(", ")} in ${formatDuration(wallMs)}`
}
