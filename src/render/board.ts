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

/**
 * The whole board, as the lines a terminal redraws in place: each cut to `columns`, so
 * none wraps and the redraw moves up as many lines as there are on the screen.
 */
export const boardLines = (rows: ReadonlyArray<BoardRow>, now: number, colour: boolean, columns?: number): ReadonlyArray<string> =>
  rows.flatMap((row) => [rowLine(row, now, colour), ...tailLines(row)]).map((line) => fitLine(line, columns))

// Colours (SGR) are kept and take no room; any other escape or control character, which a
// check's log may hold, would move the cursor under the board's feet: a tab is a space, the rest go.
const token = /\x1b\[[0-9;]*m|\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?|\p{Cc}|[^\x1b\p{Cc}]+/gu
const sgr = /^\x1b\[[0-9;]*m$/

// Terminals give no width to combining and format characters, two columns to East Asian wide
// and fullwidth characters and to emoji shown as such.
const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}]+$/u
const wide =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\uFE0F]|[\u{1F300}-\u{1F64F}\u{1F900}-\u{1F9FF}\u{20000}-\u{3FFFD}]|\p{Emoji_Presentation}/u
const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" })

/** How many columns a terminal gives this text (no escapes or controls in it). */
export const displayWidth = (text: string): number => {
  let width = 0
  for (const { segment } of graphemes.segment(text)) width += zeroWidth.test(segment) ? 0 : wide.test(segment) ? 2 : 1
  return width
}

/** A line as a terminal shows it in `columns`: controls taken out, and cut with `…` when wider. */
export const fitLine = (line: string, columns: number | undefined): string => {
  const parts = [...line.matchAll(token)].flatMap(([part]): Array<{ readonly text: string; readonly escape: boolean }> =>
    sgr.test(part) ? [{ text: part, escape: true }]
    : part === "\t" ? [{ text: " ", escape: false }]
    : part.startsWith("\x1b") || /^\p{Cc}$/u.test(part) ? []
    : [{ text: part, escape: false }]
  )
  const clean = parts.map((part) => part.text).join("")
  const text = parts.filter((part) => !part.escape).map((part) => part.text).join("")
  if (columns === undefined || columns < 1 || displayWidth(text) <= columns) return clean

  // Keep what fits in columns - 1, then `…`, then reset any colour left open.
  let room = columns - 1
  let kept = ""
  for (const part of parts) {
    if (part.escape) {
      kept += part.text
      continue
    }
    for (const { segment } of graphemes.segment(part.text)) {
      const width = displayWidth(segment)
      if (width > room) return `${kept}…${parts.some((p) => p.escape) ? "\x1b[0m" : ""}`
      kept += segment
      room -= width
    }
  }
  return kept
}

/** How a run ended, in one line. */
export const runTally = (rows: ReadonlyArray<BoardRow>, wallMs: number): string => {
  const count = (state: RowState) => rows.filter((row) => row.state === state).length
  const parts = [`${count("passed")} passed`, `${count("failed")} failed`]
  if (count("skipped") > 0) parts.push(`${count("skipped")} skipped`)
  return `${parts.join(", ")} in ${formatDuration(wallMs)}`
}
