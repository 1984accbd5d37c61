import { Effect, type Redacted, Runtime, Schema } from "effect"
import { ExitCode } from "../domain/errors.ts"

/**
 * The environment a Buildkite job gives the tool, decoded once. Buildkite sets some
 * variables to an empty string when they do not apply (`BUILDKITE_TAG` on a branch
 * build), so an empty value reads as absent.
 */

const Variable = Schema.optionalKey(Schema.String)

export const BuildkiteEnvironment = Schema.Struct({
  BUILDKITE: Variable,
  BUILDKITE_BRANCH: Variable,
  BUILDKITE_TAG: Variable,
  BUILDKITE_COMMIT: Variable,
  BUILDKITE_MESSAGE: Variable,
  BUILDKITE_PULL_REQUEST: Variable,
  BUILDKITE_PULL_REQUEST_BASE_BRANCH: Variable,
  BUILDKITE_REPO: Variable,
  BUILDKITE_PIPELINE_SLUG: Variable,
  BUILDKITE_BUILD_NUMBER: Variable,
  BUILDKITE_BUILD_ID: Variable,
  BUILDKITE_ORGANIZATION_SLUG: Variable,
  BUILDKITE_PIPELINE_DEFAULT_BRANCH: Variable,
  /** Buildkite's REST API, which `tool plan` asks for the last passed build and deploy. */
  CI_BUILDKITE_API_URL: Variable,
  CI_BUILDKITE_API_TOKEN: Schema.optionalKey(Schema.RedactedFromValue(Schema.String)),
  /** How the build started: `webhook`, `ui`, `api`, `schedule`, `trigger_job`. */
  BUILDKITE_SOURCE: Variable,
  /** Set by a pipeline schedule's environment (`nightly`): what `schedule` conditions match. */
  CI_SCHEDULE: Variable,
  /** Actions to force, comma-separated, or `all` (a manual build, an API call, `/ci deploy`). */
  CI_ACTIONS: Variable,
  /** The pipeline deploys are triggered in (the design note's name). */
  BUILDKITE_PLUGIN_CICD_DEPLOY_PIPELINE_NAME: Variable,
  /** The flake reference steps run the tool from (the design note's name). */
  TOOL_TARGET: Variable,
  /** The Buildkite plugin added to each command step; `none` for none. */
  CI_PLUGIN: Variable,
  CI_SYSTEM_TAG: Variable,
  /** Above this many derivations to build, a system's builds are split into several steps. */
  CI_BUILD_SHARD_SIZE: Variable,
  DENBEIGH_DEPLOY: Variable,
  STEP_DATA: Variable
})
export type BuildkiteEnvironment =
  & { readonly [K in Exclude<keyof typeof BuildkiteEnvironment.Type, "CI_BUILDKITE_API_TOKEN">]?: string }
  & { readonly CI_BUILDKITE_API_TOKEN?: Redacted.Redacted<string> }

export class EnvironmentInvalid extends Schema.TaggedError<EnvironmentInvalid>()("EnvironmentInvalid", {
  detail: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    return `environment: ${this.detail}`
  }
}

// Decoded from `process.env` directly: effect's env ConfigProvider reads `BUILDKITE`
// as the parent of `BUILDKITE_REPO` and friends, not as a variable of its own.
export const readBuildkiteEnvironment: Effect.Effect<BuildkiteEnvironment, EnvironmentInvalid> = Effect.sync(() => process.env).pipe(
  Effect.flatMap(Schema.decodeUnknownEffect(BuildkiteEnvironment)),
  Effect.map((environment) =>
    Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== "")) as BuildkiteEnvironment
  ),
  Effect.mapError((error) => new EnvironmentInvalid({ detail: error.message }))
)

/** Whether the tool runs inside a Buildkite job. */
export const inBuildkite = (environment: BuildkiteEnvironment): boolean => environment.BUILDKITE === "true"

/** A pull-request build: `BUILDKITE_PULL_REQUEST` holds its number, and `false` otherwise. */
export const pullRequestOf = (environment: BuildkiteEnvironment): string | undefined =>
  environment.BUILDKITE_PULL_REQUEST === undefined || environment.BUILDKITE_PULL_REQUEST === "false"
    ? undefined
    : environment.BUILDKITE_PULL_REQUEST
