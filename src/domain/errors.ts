import { Runtime, Schema } from "effect"

/** The exit codes every command documents. */
export const ExitCode = {
  Success: 0,
  /** Something failed: a check, a build, a deploy, or a service the tool needs. */
  Failure: 1,
  /** The input or configuration is wrong: a flag, an environment variable, `ciActions`. */
  BadInput: 2
} as const

/** Input or configuration the tool cannot use, at a named place (a flag, a variable, `ciActions…`). */
export class PlanInputError extends Schema.TaggedError<PlanInputError>()("PlanInputError", {
  place: Schema.String,
  detail: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    return `${this.place}: ${this.detail}`
  }
}
