import { Console, Effect, Fiber, Option, Path, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { PlanInputError } from "../domain/errors.ts"
import { StepDataFromJson } from "../domain/StepData.ts"
import { BuildkiteAgent, type BuildkiteAgentError } from "../effects/BuildkiteAgent.ts"
import {
  type BuildkiteEnvironment,
  inBuildkite,
  pullRequestOf,
  readBuildkiteEnvironment
} from "../effects/BuildkiteEnvironment.ts"
import { Git, type GitError } from "../effects/Git.ts"
import type { FlakeSource } from "../nix/flakeRef.ts"
import { Nix, type NixEvalError, type NixOutputInvalid, type NixUnavailable } from "../nix/Nix.ts"
import { type Base, makePlan } from "../plan/Plan.ts"
import { checkStepData, stepData } from "../plan/StepData.ts"
import { type PipelineSettings, renderCiPipeline, renderDeployPipeline, type RenderedCiPipeline } from "../render/pipeline.ts"
import { ciPlanJson, ciReport, deployPlanJson, deployReport } from "../render/report.ts"
import { pipelineUpload, uploadYaml } from "../render/yaml.ts"

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
  buildId: environment.BUILDKITE_BUILD_ID,
  message: environment.BUILDKITE_MESSAGE
})

/**
 * Print the plan, then print (dry run) or upload the pipeline, after the meta-data
 * its steps read. A pipeline over 500 steps is one upload whose last step uploads
 * the next part (`pipelineUpload`), so no step ever exists ahead of its gates.
 */
const emit = Effect.fnUntraced(function*(
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment,
  report: string,
  { pipeline, metaData }: RenderedCiPipeline,
  json: unknown
) {
  const upload = yield* Effect.fromResult(pipelineUpload(pipeline))
  yield* Console.error(inBuildkite(environment) ? `--- :nix: Plan\n${report}` : report)
  if (flagsIn.dryRun) {
    yield* Console.log(flagsIn.format === "json" ? JSON.stringify(json, null, 2) : uploadYaml(upload))
    return
  }
  if (flagsIn.format === "json") yield* Console.log(JSON.stringify(json, null, 2))
  if (pipeline.steps.length === 0) {
    yield* Console.error("nothing to run: no pipeline uploaded")
    return
  }
  const agent = yield* BuildkiteAgent
  for (const entry of [...metaData, ...upload.parts]) yield* agent.setMetaData(entry.key, entry.value)
  yield* agent.uploadPipeline(upload.document)
  const parts = upload.parts.length === 0 ? "" : ` (in ${upload.parts.length + 1} parts: each part's last step uploads the next)`
  yield* Console.error(`uploaded ${pipeline.steps.length} steps${parts}`)
})

/** The revision to plan, and where it was given. */
const headRevOf = (flagsIn: PlanFlags, environment: BuildkiteEnvironment) => ({
  rev: Option.getOrUndefined(flagsIn.head) ?? environment.BUILDKITE_COMMIT ?? "HEAD",
  place: Option.isSome(flagsIn.head) ? "--head" : environment.BUILDKITE_COMMIT === undefined ? "HEAD" : "BUILDKITE_COMMIT"
})

/** The commit to plan and the flake's place in its checkout; `extraRevs` resolved alongside. */
const checkoutOf = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment, extraRevs: ReadonlyArray<string>) {
  const git = yield* Git
  const path = yield* Path.Path
  const flakePath = path.resolve(flagsIn.flake)
  const headRev = headRevOf(flagsIn, environment)
  const [checkout, [headSha, ...resolved]] = yield* Effect.all([
    git.inspect(flakePath).pipe(
      Effect.mapError((error) => new PlanInputError({ place: "--flake", detail: `${flakePath} is not in a git checkout (${error.reason.trim()})` }))
    ),
    git.resolveCommits(flakePath, [headRev.rev, ...extraRevs])
  ], { concurrency: "unbounded" })
  const repository = checkout.toplevel
  const head = yield* Effect.fromOption(
    headSha!,
    () => new PlanInputError({ place: headRev.place, detail: `${headRev.rev} is not a commit in ${repository}` })
  )
  const flakeDir = path.relative(repository, flakePath) || "."
  const source = (rev: string): FlakeSource => ({ repository, flakeDir, rev, shallow: checkout.shallow })
  return { repository, shallow: checkout.shallow, head, flakeDir, source, resolved }
})

/**
 * Deploy mode: `STEP_DATA` names an action and its steps, but whoever starts a deploy
 * build can set it. So it is decoded strictly (names, text, targets of the checked-out
 * flake), the flake at the build's commit is evaluated as `tool plan` evaluates any
 * head, and the pipeline is rendered from what the flake declares for the action, only
 * when STEP_DATA says exactly that.
 */
const planDeploy = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment) {
  if (environment.STEP_DATA === undefined) {
    return yield* new PlanInputError({ place: "STEP_DATA", detail: "DENBEIGH_DEPLOY is true but STEP_DATA is not set; a deploy build is started by the CI pipeline's trigger step" })
  }
  const pullRequest = pullRequestOf(environment)
  if (pullRequest !== undefined) {
    return yield* new PlanInputError({ place: "BUILDKITE_PULL_REQUEST", detail: `this deploy build is for pull request #${pullRequest}; a pull request never deploys` })
  }
  const given = yield* Schema.decodeUnknownEffect(StepDataFromJson)(environment.STEP_DATA).pipe(
    Effect.mapError((error) => new PlanInputError({ place: "STEP_DATA", detail: error.message }))
  )
  const nix = yield* Nix
  const [system, checkout] = yield* Effect.all([
    Option.match(flagsIn.system, { onNone: () => nix.currentSystem, onSome: Effect.succeed }),
    checkoutOf(flagsIn, environment, [])
  ], { concurrency: "unbounded" })
  const evaluation = yield* nix.evaluate(checkout.source(checkout.head), system, { withActions: true })
  const actions = evaluation.actions ?? {}
  const action = Object.hasOwn(actions, given.action) ? actions[given.action] : undefined
  const data = yield* Effect.fromResult(checkStepData(
    given,
    action === undefined ? undefined : stepData(checkout.flakeDir, given.action, action),
    { commit: checkout.head, actions: Object.keys(actions) }
  ))
  const pipeline = yield* Effect.fromResult(renderDeployPipeline(data, settingsFrom(flagsIn, environment, system)))
  yield* emit(flagsIn, environment, deployReport(data, pipeline), { pipeline, metaData: [] }, deployPlanJson(data, pipeline))
})

/** Nix's name for this platform as Node sees it; Nix may be configured otherwise. */
const guessSystem = (): string | undefined => {
  const arch = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch]
  const os = ({ linux: "linux", darwin: "darwin" } as Record<string, string>)[process.platform]
  return arch === undefined || os === undefined ? undefined : `${arch}-${os}`
}

type BaseCommit = { readonly _tag: "Found"; readonly sha: string } | Extract<Base, { _tag: "Unavailable" }>

/**
 * The base commit: `--base`, else the pull request's merge-base with its base
 * branch, else the previous commit. A base that is not in this clone is not an
 * error: everything then counts as changed.
 */
const chooseBase = Effect.fnUntraced(function*(
  repository: string,
  shallow: boolean,
  head: string,
  resolved: { readonly requested: Option.Option<readonly [string, Option.Option<string>]>; readonly previous: Option.Option<string> },
  environment: BuildkiteEnvironment
) {
  const git = yield* Git
  const unavailable = (reason: string): BaseCommit => ({ _tag: "Unavailable", sha: undefined, reason })
  const found = (sha: string): BaseCommit => ({ _tag: "Found", sha })
  if (Option.isSome(resolved.requested)) {
    const [rev, sha] = resolved.requested.value
    return Option.isSome(sha) ? found(sha.value) : unavailable(`--base ${rev} is not a commit in this clone (a shallow clone?)`)
  }
  const baseBranch = environment.BUILDKITE_PULL_REQUEST_BASE_BRANCH
  if (pullRequestOf(environment) !== undefined && baseBranch !== undefined) {
    const [remote, local] = yield* git.resolveCommits(repository, [`refs/remotes/origin/${baseBranch}`, baseBranch])
    const branchTip = Option.orElse(remote!, () => local!)
    if (Option.isNone(branchTip)) return unavailable(`the pull request's base branch ${baseBranch} is not fetched in this clone`)
    const mergeBase = yield* git.mergeBase(repository, head, branchTip.value)
    return Option.isSome(mergeBase)
      ? found(mergeBase.value)
      : unavailable(`no merge-base of ${head.slice(0, 12)} and ${baseBranch} in this clone (a shallow clone?)`)
  }
  if (Option.isSome(resolved.previous)) return found(resolved.previous.value)
  return shallow
    ? unavailable(`the previous commit of ${head.slice(0, 12)} is not in this shallow clone`)
    : unavailable(`${head.slice(0, 12)} is the first commit`)
})

type PlanCiError = PlanInputError | GitError | NixEvalError | NixUnavailable | NixOutputInvalid | BuildkiteAgentError

// Typed by hand because it calls itself when Nix's system differs from the guess.
const planCi: (
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment
) => Effect.Effect<void, PlanCiError, Git | Nix | Path.Path | BuildkiteAgent> = Effect.fnUntraced(function*(flagsIn, environment) {
  const git = yield* Git
  const nix = yield* Nix

  // Everything that does not wait on something else starts at once: the evaluations
  // dominate, and each step before them adds to the wall time of every plan.
  // Asking Nix for its system costs a process before anything can be evaluated, so
  // the plan starts from Node's guess and Nix confirms it meanwhile (see the end).
  const systemCheck = Option.isSome(flagsIn.system) ? undefined : yield* Effect.forkChild(nix.currentSystem)
  const system = Option.getOrUndefined(flagsIn.system) ?? guessSystem() ?? (yield* Fiber.join(systemCheck!))

  const requestedBase = Option.getOrUndefined(flagsIn.base)
  const [, { repository, shallow, head, flakeDir, source, resolved: [previous, requested] }] = yield* Effect.all([
    nix.version,
    checkoutOf(flagsIn, environment, [`${headRevOf(flagsIn, environment).rev}^`, ...(requestedBase === undefined ? [] : [requestedBase])])
  ], { concurrency: "unbounded" })
  const tag = Option.getOrUndefined(flagsIn.tag) ?? environment.BUILDKITE_TAG

  const evaluateBase = (commit: BaseCommit): Effect.Effect<Base> => {
    if (commit._tag === "Unavailable") return Effect.succeed(commit)
    const unavailable = (reason: string): Base => ({ _tag: "Unavailable", sha: commit.sha, reason: `base ${commit.sha.slice(0, 12)} ${reason}` })
    return nix.evaluate(source(commit.sha), system, { withActions: false }).pipe(
      Effect.map((evaluation): Base =>
        evaluation.hasCiActions ? { _tag: "Evaluated", sha: commit.sha, evaluation } : unavailable("has no ciActions output")
      ),
      Effect.catch((error) => Effect.succeed(unavailable(`could not be evaluated: ${error.message.split("\n")[0]}`)))
    )
  }

  const [headEvaluation, base, remoteBranches, localBranch, dirty] = yield* Effect.all([
    nix.evaluate(source(head), system, { withActions: true }),
    chooseBase(repository, shallow, head, {
      requested: requestedBase === undefined ? Option.none() : Option.some([requestedBase, requested!] as const),
      previous: previous!
    }, environment).pipe(Effect.flatMap(evaluateBase)),
    tag === undefined
      ? Effect.succeed([])
      : git.remoteBranchesContaining(repository, head).pipe(
        // Planning a tag locally with --branch: the commit counts as on that branch.
        Effect.map((branches) => Option.match(flagsIn.branch, { onNone: () => branches, onSome: (branch) => [...branches, branch] }))
      ),
    // Only what this run will use: in Buildkite the branch is given and the tree is clean.
    Option.isSome(flagsIn.branch) || environment.BUILDKITE_BRANCH !== undefined
      ? Effect.succeed(Option.none<string>())
      : git.currentBranch(repository),
    inBuildkite(environment) || Option.isSome(flagsIn.head) ? Effect.succeed(false) : git.isDirty(repository)
  ], { concurrency: "unbounded" })

  if (systemCheck !== undefined) {
    const actual = yield* Fiber.join(systemCheck)
    if (actual !== system) return yield* planCi({ ...flagsIn, system: Option.some(actual) }, environment)
  }

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
  const warnings = dirty
    ? [...plan.warnings, `the work tree has uncommitted changes; the plan is for commit ${head.slice(0, 12)}`]
    : plan.warnings
  const planned = { ...plan, warnings }
  const rendered = yield* Effect.fromResult(renderCiPipeline(planned, settingsFrom(flagsIn, environment, system)))
  yield* emit(flagsIn, environment, ciReport(planned, rendered), rendered, ciPlanJson(planned, rendered))
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
