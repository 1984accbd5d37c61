import { Flag } from "effect/cli"

/** `--local`, for the commands that report results: check, build and deploy. */
export const localFlag = Flag.Boolean("local").pipe(
  Flag.withDescription("Report to the terminal even in a Buildkite job (no meta-data, no annotation)"),
  Flag.withDefault(false)
)
