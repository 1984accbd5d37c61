import { Clock, Effect, Schedule, type Scope } from "effect"
import { type BoardRow, boardLines, rowLine, tailLines } from "../../render/board.ts"

/**
 * The board on stdout. On a terminal it is redrawn in place (and every half second,
 * for the running times), with log lines printed above it; on a pipe or with
 * `TERM=dumb`, each row is a plain line when it starts and when it ends.
 */

export interface Display {
  readonly live: boolean
  readonly colour: boolean
  /** The terminal's width now (it may be resized), when known: live lines are cut to it. */
  readonly columns: () => number | undefined
}

/** Live on a terminal that can move its cursor; colour there unless NO_COLOR is set. */
export const displayOf = (stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Display => {
  const live = stream.isTTY === true && env.TERM !== "dumb"
  return { live, colour: live && (env.NO_COLOR === undefined || env.NO_COLOR === ""), columns: () => stream.columns }
}

export class Board {
  private readonly rows: Array<BoardRow> = []
  private drawn = 0
  private closed = false
  readonly display: Display
  private readonly write: (text: string) => void

  constructor(display: Display, write: (text: string) => void) {
    this.display = display
    this.write = write
  }

  get all(): ReadonlyArray<BoardRow> {
    return this.rows
  }

  /** Start redrawing every half second, until the scope closes. */
  start(): Effect.Effect<void, never, Scope.Scope> {
    if (!this.display.live) return Effect.void
    return Effect.forkScoped(Effect.repeat(this.redraw, Schedule.spaced("500 millis"))).pipe(
      Effect.andThen(Effect.addFinalizer(() => Effect.andThen(this.redraw, Effect.sync(() => (this.closed = true))))),
      Effect.asVoid
    )
  }

  add(row: BoardRow): Effect.Effect<void> {
    return Effect.andThen(Effect.sync(() => this.rows.push(row)), this.redraw)
  }

  update(key: string, change: Partial<BoardRow>): Effect.Effect<void> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const index = this.rows.findIndex((row) => row.key === key)
      if (index < 0) return Effect.void
      const before = this.rows[index]!
      const row: BoardRow = {
        ...before,
        ...change,
        ...(change.state === "running" && before.state !== "running" ? { startedAt: now } : {}),
        ...(change.state !== undefined && change.state !== "running" && before.state === "running" && change.durationMs === undefined
          ? { durationMs: now - (before.startedAt ?? now) }
          : {})
      }
      this.rows[index] = row
      if (this.display.live) return this.redraw
      // On a pipe: one line per start and per end, the failing log under a failure.
      if (row.state !== before.state && row.state !== "waiting") {
        const shown = row.state === "running" ? { ...row, startedAt: undefined } : row
        this.write(`${[rowLine(shown, now, false), ...tailLines(row)].join("\n")}\n`)
      }
      return Effect.void
    })
  }

  /** A line printed above the board (a log line with -L, a notice). */
  log(line: string): Effect.Effect<void> {
    return Effect.sync(() => {
      this.write(`${this.erase()}${line}\n`)
      this.drawn = 0
    }).pipe(Effect.andThen(this.redraw))
  }

  /** Take the board off the screen while something else uses the terminal (a prompt). */
  readonly hide: Effect.Effect<void> = Effect.sync(() => {
    this.write(this.erase())
    this.drawn = 0
  })

  readonly redraw: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      if (!this.display.live || this.closed) return
      const lines = boardLines(this.rows, now, this.display.colour, this.display.columns())
      this.write(`${this.erase()}${lines.map((line) => `${line}\n`).join("")}`)
      this.drawn = lines.length
    }))

  private erase(): string {
    return this.display.live && this.drawn > 0 ? `\x1b[${this.drawn}A\r\x1b[J` : ""
  }
}
