import { Option, Result } from "effect"
import { Flag } from "effect/cli"
import { PlanInputError } from "../../domain/errors.ts"
import { toolVersion } from "../../domain/toolVersion.ts"
import type { BuildkiteEnvironment } from "../../effects/BuildkiteEnvironment.ts"
import type { PipelineSettings } from "../../render/pipeline.ts"

/** `tool plan`'s flags, and the pipeline settings they and the job's environment give. */

export const flags = {
  flake: Flag.String("flake").pipe(
    Flag.withDescription("The flake's directory, inside a git checkout"),
    Flag.withDefault(".")
  ),
  base: Flag.String("base").pipe(
    Flag.withDescription(
      "The commit to compare with (default: a pull request's merge-base, a tag's previous matching tag, a branch's last passed build, else the previous commit)"
    ),
    Flag.optional
  ),
  head: Flag.String("head").pipe(
    Flag.withDescription("The commit to plan (default: BUILDKITE_COMMIT, else HEAD)"),
    Flag.optional
  ),
  system: Flag.String("system").pipe(
    Flag.withDescription("The one system to plan for (default: this machine's, and every other system mkActions covers)"),
    Flag.optional
  ),
  branch: Flag.String("branch").pipe(Flag.withDescription("Plan as if building this branch (default: BUILDKITE_BRANCH, else the checked-out branch)"), Flag.optional),
  tag: Flag.String("tag").pipe(Flag.withDescription("Plan as if building this tag (default: BUILDKITE_TAG)"), Flag.optional),
  tool: Flag.String("tool").pipe(
    Flag.withDescription("The flake reference steps run the tool from (default: TOOL_TARGET, else github:denbeigh2000/ci#tool, which nix run resolves for each agent's own system)"),
    Flag.optional
  ),
  noCache: Flag.Boolean("no-cache").pipe(
    Flag.withDescription("Evaluate every commit afresh: neither read nor write the evaluation cache ($XDG_CACHE_HOME/ci)"),
    Flag.withDefault(false)
  ),
  dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("Print the pipeline instead of uploading it"), Flag.withDefault(false)),
  why: Flag.Boolean("why").pipe(
    Flag.withDescription("Show the whole tree of why each output changed (default: one line each)"),
    Flag.withDefault(false)
  ),
  verbose: Flag.Boolean("verbose").pipe(Flag.withDescription("Show everything the plan knows: --why's trees"), Flag.withDefault(false)),
  format: Flag.Literals("format", ["yaml", "json"]).pipe(
    Flag.withDescription("What --dry-run prints: the pipeline as YAML, or the whole plan as JSON"),
    Flag.withDefault("yaml")
  )
}

export type PlanFlags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

// `#tool`, not `#apps.<system>.tool`: steps run on every system's agents, and `nix run` looks
// the app up for the system it runs on.
export const settingsFrom = (flagsIn: PlanFlags, environment: BuildkiteEnvironment): PipelineSettings => ({
  toolTarget: Option.getOrElse(flagsIn.tool, () => environment.TOOL_TARGET ?? "github:denbeigh2000/ci#tool"),
  deployPipeline: environment.BUILDKITE_PLUGIN_CICD_DEPLOY_PIPELINE_NAME ?? "deploy",
  systemTag: environment.CI_SYSTEM_TAG ?? "system",
  plugin: environment.CI_PLUGIN === "none" ? undefined : environment.CI_PLUGIN ?? `denbeigh2000/cicd#v${toolVersion}`,
  repo: environment.BUILDKITE_REPO,
  branch: Option.getOrUndefined(flagsIn.branch) ?? environment.BUILDKITE_BRANCH,
  pipelineSlug: environment.BUILDKITE_PIPELINE_SLUG,
  buildNumber: environment.BUILDKITE_BUILD_NUMBER,
  buildId: environment.BUILDKITE_BUILD_ID,
  message: environment.BUILDKITE_MESSAGE
})

/** Above this many derivations to build, a system's builds are split into shards (`CI_BUILD_SHARD_SIZE`). */
export const defaultShardSize = 200

export const shardSizeFrom = (environment: BuildkiteEnvironment): Result.Result<number, PlanInputError> => {
  const text = environment.CI_BUILD_SHARD_SIZE
  if (text === undefined) return Result.succeed(defaultShardSize)
  return /^[1-9][0-9]{0,8}$/.test(text.trim())
    ? Result.succeed(Number(text.trim()))
    : Result.fail(new PlanInputError({ place: "CI_BUILD_SHARD_SIZE", detail: `expected a whole number of derivations above 0, got ${JSON.stringify(text)}` }))
}
