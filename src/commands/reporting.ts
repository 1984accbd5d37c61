import { Effect, Layer } from "effect"
import { Flag } from "effect/cli"
import { inBuildkite, readBuildkiteEnvironment } from "../effects/BuildkiteEnvironment.ts"
import { Reporter } from "../effects/Reporter.ts"

/** `--local`, for the commands that report results: check, build and deploy. */
export const localFlag = Flag.Boolean("local").pipe(
  Flag.withDescription("Report to the terminal even in a Buildkite job (no meta-data, no annotation)"),
  Flag.withDefault(false)
)

/** Buildkite's reporter in a Buildkite job, the terminal's elsewhere or with --local. */
export const reporterFor = (local: boolean) =>
  Layer.unwrap(Effect.map(readBuildkiteEnvironment, (environment) => Reporter.layer({ buildkite: inBuildkite(environment), local })))
