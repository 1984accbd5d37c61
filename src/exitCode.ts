/** The exit codes every command documents. */
export const ExitCode = {
  Success: 0,
  /** Something failed: a check, a build, a deploy, or a service the tool needs. */
  Failure: 1,
  /** The input or configuration is wrong: a flag, an environment variable, `ciActions`. */
  BadInput: 2
} as const
