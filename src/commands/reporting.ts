import { Effect, Layer } from "effect"
import { inBuildkite, readBuildkiteEnvironment } from "../effects/BuildkiteEnvironment.ts"
import { Reporter } from "../effects/Reporter.ts"

/** Buildkite's reporter in a Buildkite job, the terminal's elsewhere or with --local. */
export const reporterFor = (local: boolean) =>
  Layer.unwrap(Effect.map(readBuildkiteEnvironment, (environment) => Reporter.layer({ buildkite: inBuildkite(environment), local })))
