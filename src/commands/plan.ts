import { Console, Effect, Option, Path, Runtime, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import {
  type BuildkiteEnvironment,
  inBuildkite,
  pullRequestOf,
  readBuildkiteEnvironment
} from "../effects/BuildkiteEnvironment.ts"
import { BuildkiteAgent } from "../effects/BuildkiteAgent.ts"
import { Git } from "../effects/Git.ts"
import { ExitCode } from "../exitCode.ts"
import { type FlakeSource, Nix } from "../nix/Nix.ts"
import { type Base, makePlan } from "../plan/Plan.ts"
import { StepDataFromJson } from "../plan/StepData.ts"
import { type Pipeline, type PipelineSettings, renderCiPipeline, renderDeployPipeline } from "../render/pipeline.ts"
import { ciPlanJson, ciReport, deployPlanJson, deployReport } from "../render/report.ts"
import { pipelineDocuments, pipelineYaml } from "../render/yaml.ts"

export class PlanUsageError extends Schema.TaggedError<PlanUsageError>()("PlanUsageError", {
  place: Schema.String,
  detail: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    return `${this.place}: ${this.detail}`
  }
}

const flags = {
  flake: Flag.String("flake").pipe(
    Flag.withDescription("The flake's directory, inside a git checkout"),
    Flag.withDefault(".")
  ),
  base: Flag.String("base").pipe(
    Flag.withDescription("The commit to compare with (default: the pull request's merge-base, else the previous commit)"),
    Flag.optional
  ),
  head: Flag.String("head").pipe(
    Flag.withDescription("The commit to plan (default: BUILDKITE_COMMIT, else HEAD)"),
    Flag.optional
  ),
  system: Flag.String("system").pipe(Flag.withDescription("The system to plan for (default: this machine's)"), Flag.optional),
  branch: Flag.String("branch").pipe(Flag.withDescription("Plan as if building this branch (default: BUILDKITE_BRANCH, else the checked-out branch)"), Flag.optional),
  tag: Flag.String("tag").pipe(Flag.withDescription("Plan as if building this tag (default: BUILDKITE_TAG)"), Flag.optional),
  tool: Flag.String("tool").pipe(
    Flag.withDescription("The flake reference steps run the tool from (default: TOOL_TARGET, else github:denbeigh2000/ci#apps.<system>.tool)"),
    Flag.optional
  ),
  dryRun: Flag.Boolean("dry-run").pipe(Flag.withDescription("Print the pipeline instead of uploading it"), Flag.withDefault(false)),
  format: Flag.Literals("format", ["yaml", "json"]).pipe(
    Flag.withDescription("What --dry-run prints: the pipeline as YAML, or the whole plan as JSON"),
    Flag.withDefault("yaml")
  )
}

type PlanFlags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

const settingsFrom = (flagsIn: PlanFlags, environment: BuildkiteEnvironment, system: string): PipelineSettings => ({
  toolTarget: Option.getOrElse(flagsIn.tool, () => environment.TOOL_TARGET ?? `github:denbeigh2000/ci#apps.${system}.tool`),
  deployPipeline: environment.BUILDKITE_PLUGIN_CICD_DEPLOY_PIPELINE_NAME ?? "deploy",
  plugin: environment.CI_PLUGIN === "none" ? undefined : environment.CI_PLUGIN ?? "denbeigh2000/cicd",
  repo: environment.BUILDKITE_REPO,
  branch: Option.getOrUndefined(flagsIn.branch) ?? environment.BUILDKITE_BRANCH,
  pipelineSlug: environment.BUILDKITE_PIPELINE_SLUG,
  buildNumber: environment.BUILDKITE_BUILD_NUMBER,
  message: environment.BUILDKITE_MESSAGE
})

/** Print the plan, then print (dry run) or upload the pipeline. */
const emit = Effect.fnUntraced(function*(
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment,
  report: string,
  pipeline: Pipeline,
  json: unknown
) {
  yield* Console.error(inBuildkite(environment) ? `--- :nix: Plan\n${report}` : report)
  if (flagsIn.dryRun) {
    yield* Console.log(flagsIn.format === "json" ? JSON.stringify(json, null, 2) : pipelineYaml(pipeline))
    return
  }
  if (flagsIn.format === "json") yield* Console.log(JSON.stringify(json, null, 2))
  if (pipeline.steps.length === 0) {
    yield* Console.error("nothing to run: no pipeline uploaded")
    return
  }
  const agent = yield* BuildkiteAgent
  yield* agent.uploadPipeline(pipelineDocuments(pipeline))
  yield* Console.error(`uploaded ${pipeline.steps.length} steps`)
})

const planDeploy = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment) {
  if (environment.STEP_DATA === undefined) {
    return yield* new PlanUsageError({ place: "STEP_DATA", detail: "DENBEIGH_DEPLOY is true but STEP_DATA is not set; a deploy build is started by the CI pipeline's trigger step" })
  }
  const data = yield* Schema.decodeUnknownEffect(StepDataFromJson)(environment.STEP_DATA).pipe(
    Effect.mapError((error) => new PlanUsageError({ place: "STEP_DATA", detail: error.message }))
  )
  const system = Option.getOrUndefined(flagsIn.system) ?? (yield* (yield* Nix).currentSystem)
  const pipeline = renderDeployPipeline(data, settingsFrom(flagsIn, environment, system))
  yield* emit(flagsIn, environment, deployReport(data, pipeline), pipeline, deployPlanJson(data, pipeline))
})

/**
 * The base commit: `--base`, else the pull request's merge-base with its base
 * branch, else the previous commit. A base that is not in this clone is not an
 * error: everything then counts as changed.
 */
const resolveBase = Effect.fnUntraced(function*(
  repository: string,
  head: string,
  requested: Option.Option<string>,
  environment: BuildkiteEnvironment
) {
  const git = yield* Git
  const unavailable = (reason: string, sha?: string) => ({ sha, reason })
  if (Option.isSome(requested)) {
    const sha = yield* git.resolveCommit(repository, requested.value)
    return Option.isSome(sha)
      ? { sha: sha.value }
      : unavailable(`--base ${requested.value} is not a commit in this clone (a shallow clone?)`)
  }
  const baseBranch = environment.BUILDKITE_PULL_REQUEST_BASE_BRANCH
  if (pullRequestOf(environment) !== undefined && baseBranch !== undefined) {
    const remote = yield* git.resolveCommit(repository, `refs/remotes/origin/${baseBranch}`)
    const branchTip = Option.isSome(remote) ? remote : yield* git.resolveCommit(repository, baseBranch)
    if (Option.isNone(branchTip)) {
      return unavailable(`the pull request's base branch ${baseBranch} is not fetched in this clone`)
    }
    const mergeBase = yield* git.mergeBase(repository, head, branchTip.value)
    return Option.isSome(mergeBase)
      ? { sha: mergeBase.value }
      : unavailable(`no merge-base of ${head.slice(0, 12)} and ${baseBranch} in this clone (a shallow clone?)`)
  }
  const previous = yield* git.resolveCommit(repository, `${head}^`)
  if (Option.isSome(previous)) return { sha: previous.value }
  return (yield* git.isShallow(repository))
    ? unavailable(`the previous commit of ${head.slice(0, 12)} is not in this shallow clone`)
    : unavailable(`${head.slice(0, 12)} is the first commit`)
})

const planCi = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment) {
  const git = yield* Git
  const nix = yield* Nix
  const path = yield* Path.Path

  const flakePath = path.resolve(flagsIn.flake)
  const repository = yield* git.toplevel(flakePath).pipe(
    Effect.mapError((error) => new PlanUsageError({ place: "--flake", detail: `${flakePath} is not in a git checkout (${error.detail.trim()})` }))
  )
  const flakeDir = path.relative(repository, flakePath) || "."

  const headRev = Option.getOrUndefined(flagsIn.head) ?? environment.BUILDKITE_COMMIT ?? "HEAD"
  const headPlace = Option.isSome(flagsIn.head) ? "--head" : environment.BUILDKITE_COMMIT === undefined ? "HEAD" : "BUILDKITE_COMMIT"
  const head = yield* Effect.fromOption(
    yield* git.resolveCommit(repository, headRev),
    () => new PlanUsageError({ place: headPlace, detail: `${headRev} is not a commit in ${repository}` })
  )
  const tag = Option.getOrUndefined(flagsIn.tag) ?? environment.BUILDKITE_TAG

  const [system, shallow, baseCommit, remoteBranches, localBranch, dirty] = yield* Effect.all([
    Option.match(flagsIn.system, { onNone: () => nix.currentSystem, onSome: Effect.succeed }),
    git.isShallow(repository),
    resolveBase(repository, head, flagsIn.base, environment),
    tag === undefined
      ? Effect.succeed([])
      : git.remoteBranchesContaining(repository, head).pipe(
        // Planning a tag locally with --branch: the commit counts as on that branch.
        Effect.map((branches) => Option.match(flagsIn.branch, { onNone: () => branches, onSome: (branch) => [...branches, branch] }))
      ),
    git.currentBranch(repository),
    git.isDirty(repository)
  ], { concurrency: "unbounded" })

  const source = (rev: string): FlakeSource => ({ repository, flakeDir, rev, shallow })
  const [headEvaluation, base] = yield* Effect.all([
    nix.evaluate(source(head), system, { withActions: true }),
    "reason" in baseCommit
      ? Effect.succeed<Base>({ _tag: "Unavailable", sha: baseCommit.sha, reason: baseCommit.reason })
      : nix.evaluate(source(baseCommit.sha), system, { withActions: false }).pipe(
        Effect.map((evaluation): Base =>
          evaluation.hasCiActions
            ? { _tag: "Evaluated", sha: baseCommit.sha, evaluation }
            : { _tag: "Unavailable", sha: baseCommit.sha, reason: `base ${baseCommit.sha.slice(0, 12)} has no ciActions output` }
        ),
        Effect.catch((error) =>
          Effect.succeed<Base>({
            _tag: "Unavailable",
            sha: baseCommit.sha,
            reason: `base ${baseCommit.sha.slice(0, 12)} could not be evaluated: ${error.message.split("\n")[0]}`
          })
        )
      )
  ], { concurrency: "unbounded" })

  const branch = Option.getOrUndefined(flagsIn.branch) ?? environment.BUILDKITE_BRANCH ?? Option.getOrUndefined(localBranch)
  const plan = yield* Effect.fromResult(makePlan({
    system,
    flakeDir,
    head,
    headEvaluation,
    base,
    refs: { branch, tag, remoteBranches },
    pullRequest: pullRequestOf(environment)
  }))
  const warnings = dirty && Option.isNone(flagsIn.head) && !inBuildkite(environment)
    ? [...plan.warnings, `the work tree has uncommitted changes; the plan is for commit ${head.slice(0, 12)}`]
    : plan.warnings
  const planned = { ...plan, warnings }
  const pipeline = renderCiPipeline(planned, settingsFrom(flagsIn, environment, system))
  yield* emit(flagsIn, environment, ciReport(planned, pipeline), pipeline, ciPlanJson(planned, pipeline))
})

export const plan = Command.make(
  "plan",
  flags,
  Effect.fn("plan")(function*(flagsIn) {
    const environment = yield* readBuildkiteEnvironment
    return environment.DENBEIGH_DEPLOY === "true" ? yield* planDeploy(flagsIn, environment) : yield* planCi(flagsIn, environment)
  })
).pipe(
  Command.withDescription(
    "Evaluate the flake at the base and head commits, decide what to check, build and deploy, and upload the Buildkite pipeline (or print it with --dry-run)"
  ),
  Command.withExamples([
    { command: "tool plan --dry-run", description: "Print the pipeline for the checked-out commit" },
    { command: "tool plan --dry-run --format json --branch master --tag v1.2.0", description: "The whole plan, as a tag build on master" }
  ])
)
