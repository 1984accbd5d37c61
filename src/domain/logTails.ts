/**
 * How many of a log's last lines each place keeps, side by side: a result's tail
 * is cut from the lines a build kept, a message's from a process's stderr.
 */
export const logTails = {
  /** A derivation's build log while Nix builds: what its log group shows when the build ends. */
  build: 2_000,
  /** Each stream of a program whose output is passed on line by line, kept for its result. */
  streamed: 200,
  /** A check's or deploy's output, or a derivation's log, in its result (meta-data, annotations). */
  result: 50,
  /** A failed process's stderr, or Nix's plain stderr, in an error message. */
  message: 20,
  /** A failure's log on a terminal or in a job log, under the line that reports it. */
  shown: 20
} as const
