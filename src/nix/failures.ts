/**
 * Which Nix failures are worth trying again. Transient: the machinery failed (the
 * daemon or store could not be reached, a download or substituter failed, the
 * builder was killed, the disk filled up); the same command may well succeed in a
 * moment. Permanent: the input is wrong (an evaluation error, a builder's own
 * non-zero exit, bad arguments); trying again can only fail again. A failure that
 * matches neither is treated as permanent: a deploy is not retried on a guess.
 */

export type FailureKind = "transient" | "permanent"

const transient: ReadonlyArray<RegExp> = [
  // The daemon or the store.
  /cannot connect to socket at '[^']*daemon-socket/,
  /cannot open connection to remote store/,
  /Connection (refused|reset by peer)/i,
  /error: (getting|opening) lock file .*: Resource temporarily unavailable/,
  /database is locked/,
  /No space left on device/,
  // Downloads and substituters.
  /unable to download '[^']*'/,
  /error: (download|fetching) of '[^']*' failed/,
  /HTTP error (5\d\d|429)/,
  /Couldn't resolve host|Could not resolve host|Temporary failure in name resolution/,
  /Timeout was reached|Operation timed out/,
  /substituter '[^']*' (does not have|is disabled)|some substitutes for the outputs of derivation .* failed/,
  /error: (cannot|unable to) (copy|substitute)/,
  // A builder killed from outside: out of memory, a restarted agent.
  /failed due to signal 9\b|killed by signal 9|\(Killed\)/,
  /interrupted by the user/
]

const permanent: ReadonlyArray<RegExp> = [
  /builder for '[^']*' failed with exit code \d+/,
  /Reason: builder failed with exit code \d+/,
  /hash mismatch in fixed-output derivation/,
  /(attribute|variable) '[^']*' (missing|undefined)|undefined variable/,
  /syntax error/,
  /infinite recursion encountered/,
  /does not provide attribute/,
  /is not a derivation|cannot coerce|value is (a|an) \w+ while a \w+ was expected/,
  /unrecognised flag|unrecognized option|unexpected argument/i
]

/** A builder's own failure or a wrong input says permanent before any sign of trouble says transient. */
export const classifyFailure = (text: string): FailureKind =>
  permanent.some((pattern) => pattern.test(text)) ? "permanent" : transient.some((pattern) => pattern.test(text)) ? "transient" : "permanent"
