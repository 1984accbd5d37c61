import { Effect, Fiber, type FileSystem, Option, type Path } from "effect"
import type { PlanInputError } from "../../domain/errors.ts"
import { metaDataKeys } from "../../domain/metaData.ts"
import type { BuildkiteAgent, BuildkiteAgentError } from "../../effects/BuildkiteAgent.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { showAttrPath } from "../../domain/installable.ts"
import { planWhyMetaData } from "../../domain/planWhy.ts"
import { Git, type GitError } from "../../effects/Git.ts"
import { Derivations } from "../../nix/Derivations.ts"
import { flakeInputChanges } from "../../nix/flakeLock.ts"
import { flakeLockPath } from "../../nix/flakeRef.ts"
import { Evaluations } from "../../nix/Evaluations.ts"
import { Nix, type NixEvalError, type NixOutputInvalid, type NixUnavailable } from "../../nix/Nix.ts"
import { forceRequests } from "../../plan/forcing.ts"
import { type Base, type CiPlan, deploySystemsOf, makePlan, systemBuilds } from "../../plan/Plan.ts"
import { renderCiPipeline } from "../../render/pipeline.ts"
import { changeWhy, ciAnnotation, ciPlanJson, ciReport, forcedAnnotation } from "../../render/report.ts"
import { type BaseContext, chooseActionBases, chooseBase, tagPatternsOf } from "./base.ts"
import { checkoutOf, headRevOf, readRefs } from "./checkout.ts"
import { emit } from "./emit.ts"
import { baseEvaluator, headWorkers, planningSystem } from "./evaluation.ts"
import { type PlanFlags, settingsFrom, shardSizeFrom } from "./flags.ts"
import { shardBuilds } from "./shards.ts"

/**
 * CI mode: evaluate the head and the base, decide (`makePlan`), render the CI
 * pipeline and emit it.
 */

type PlanCiError = PlanInputError | GitError | NixEvalError | NixUnavailable | NixOutputInvalid | BuildkiteAgentError

// Typed by hand because it calls itself when Nix's system differs from the guess.
export const planCi: (
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment,
  /** Whether --system named the one system to plan (a plan made again for Nix's system was not narrowed). */
  narrowed?: boolean
) => Effect.Effect<void, PlanCiError, Git | Nix | Evaluations | Derivations | Path.Path | FileSystem.FileSystem | BuildkiteAgent> = Effect.fnUntraced(function*(
  flagsIn,
  environment,
  narrowed = Option.isSome(flagsIn.system)
) {
  const nix = yield* Nix
  const evaluations = yield* Evaluations

  // Everything that does not wait on something else starts at once: the evaluations
  // dominate, and each step before them adds to the wall time of every plan. They
  // wait only for the two git commands that name the commits; Nix's version is
  // checked meanwhile (the cache, when on, keys by it).
  const { system, confirmed } = yield* planningSystem(flagsIn.system)
  const requestedBase = Option.getOrUndefined(flagsIn.base)
  const versionCheck = yield* Effect.forkChild(nix.version)
  const { repository, shallow, head, flakeDir, source, resolved: [previous, requested] } = yield* checkoutOf(
    flagsIn,
    environment,
    [`${headRevOf(flagsIn, environment).rev}^`, ...(requestedBase === undefined ? [] : [requestedBase])]
  )

  const settings = settingsFrom(flagsIn, environment)
  const shardSize = yield* Effect.fromResult(shardSizeFrom(environment))
  const context: BaseContext = {
    repository,
    shallow,
    head,
    environment,
    requested: requestedBase === undefined ? Option.none() : Option.some([requestedBase, requested!] as const),
    previous: previous!,
    branch: Option.getOrUndefined(flagsIn.branch) ?? environment.BUILDKITE_BRANCH,
    tag: Option.getOrUndefined(flagsIn.tag) ?? environment.BUILDKITE_TAG,
    deployPipeline: settings.deployPipeline
  }
  // Each distinct base commit is evaluated once, the first concurrently with head. On
  // a tag build the base depends on the actions' tag patterns: the nearest earlier tag
  // is evaluated meanwhile, which is the base whenever it matches.
  const evaluateBase = yield* baseEvaluator(source, system)
  // What git says of a base (the commits since it, for `[ci deploy …]`; the flake.locks, for
  // why outputs changed) is asked beside its evaluation, not after it.
  const git = yield* Git
  const lockPath = flakeLockPath(flakeDir)
  const historyOf = (baseSha: string | undefined) =>
    Effect.all([
      git.messagesBetween(repository, baseSha, head),
      baseSha === undefined ? Effect.succeed(noLocks) : Effect.all([git.fileAt(repository, baseSha, lockPath), git.fileAt(repository, head, lockPath)], {
        concurrency: "unbounded"
      }).pipe(Effect.orElseSucceed(() => noLocks))
    ], { concurrency: "unbounded" })
  const requestedSha = requested === undefined ? undefined : Option.getOrUndefined(requested)
  const workers = yield* headWorkers(requestedSha === undefined ? undefined : { source: source(requestedSha), system, withActions: false })
  const [headEvaluation, [provisional, , provisionalHistory], { refs, dirty }] = yield* Effect.all([
    evaluations.evaluate({ source: source(head), system, withActions: true, workers }),
    chooseBase(context, undefined).pipe(
      Effect.flatMap((chosen) =>
        Effect.all([Effect.succeed(chosen), evaluateBase(chosen.commit), historyOf(chosen.commit.sha)], { concurrency: "unbounded" })
      )
    ),
    readRefs(flagsIn, environment, repository, head),
    Fiber.join(versionCheck)
  ], { concurrency: "unbounded" })

  const actual = yield* confirmed
  if (actual !== system) return yield* planCi({ ...flagsIn, system: Option.some(actual) }, environment, false)

  const actions = Object.entries(headEvaluation.actions ?? {})
  const chosen = context.tag === undefined ? provisional : yield* chooseBase(context, tagPatternsOf(actions))
  // Head with actions for each system an action deploys from, which its deploy steps come from.
  const deploySystems = deploySystemsOf(headEvaluation, system)
  const [base, perAction, deployEvaluations] = yield* Effect.all([
    evaluateBase(chosen.commit),
    chooseActionBases(context, actions, chosen.commit).pipe(
      Effect.flatMap(({ bases, warnings }) =>
        Effect.forEach(bases, ([name, commit]) => Effect.map(evaluateBase(commit), (evaluated) => [name, evaluated] as const), { concurrency: 2 })
          .pipe(Effect.map((evaluated) => ({ bases: new Map<string, Base>(evaluated), warnings })))
      )
    ),
    Effect.forEach(deploySystems, (other) =>
      Effect.map(evaluations.evaluate({ source: source(head), system: other, withActions: true }), (evaluated) => [other, evaluated] as const), { concurrency: 2 })
      .pipe(Effect.map((evaluated) => new Map(evaluated)))
  ], { concurrency: "unbounded" })
  // What `[ci deploy …]` directives can name: the commits since the base.
  const baseSha = base._tag === "Evaluated" ? base.sha : undefined
  const [commits, locks] = baseSha === provisional.commit.sha ? provisionalHistory : yield* historyOf(baseSha)

  const plan = yield* Effect.fromResult(makePlan({
    system,
    flakeDir,
    head,
    headEvaluation,
    base,
    actionBases: perAction.bases,
    refs,
    pullRequest: pullRequestOf(environment),
    forced: forceRequests(environment.CI_ACTIONS, commits),
    deployEvaluations
  }))
  // The other systems CI covers (none when --system names one): their changed outputs, each
  // system's head and base evaluated as the planning system's are, two systems at a time.
  const others = narrowed ? [] : (headEvaluation.systems ?? []).filter((other) => other !== system)
  const outputsBySystem = new Map([[system, headEvaluation.outputs]])
  const otherSystems = yield* Effect.forEach(others, (other) =>
    Effect.all([
      Effect.suspend(() => {
        const known = deployEvaluations.get(other)
        return known === undefined ? evaluations.evaluate({ source: source(head), system: other, withActions: false }) : Effect.succeed(known)
      }),
      Effect.flatMap(baseEvaluator(source, other), (evaluate) => evaluate(chosen.commit))
    ], { concurrency: 2 }).pipe(
      Effect.tap(([otherHead]) => Effect.sync(() => outputsBySystem.set(other, otherHead.outputs))),
      Effect.flatMap(([otherHead, otherBase]) =>
        Effect.fromResult(systemBuilds(other, otherHead, otherBase, plan.deploys.flatMap((deploy) => deploy.system === other ? [deploy.action] : [])))
      )
    ), { concurrency: 2 })
  const systemBuildSets = [{ system, builds: plan.builds }, ...otherSystems]
  const [split, explained] = yield* Effect.all([
    shardBuilds(systemBuildSets.map((set) => ({ ...set, outputs: outputsBySystem.get(set.system) ?? [] })), shardSize),
    explainChanges(base, plan.changed, locks)
  ], { concurrency: "unbounded" })
  const warnings = [
    ...(dirty ? [`the work tree has uncommitted changes, which this plan leaves out: it is for commit ${head.slice(0, 12)} (tool run plans the work tree)`] : []),
    ...chosen.warnings,
    ...perAction.warnings,
    ...plan.warnings,
    ...split.warnings
  ]
  const planned = {
    ...plan,
    ...explained,
    otherSystems: otherSystems.filter((entry) => entry.builds.length > 0),
    systems: [system, ...others],
    warnings
  }
  const rendered = yield* Effect.fromResult(renderCiPipeline(planned, settings, split.shards))
  // The bot shows why beside each derivation's row: one line per planned build.
  const changes = new Map(planned.changed.map((change) => [change.attrPath, change]))
  const whyLines = planned.builds.flatMap((build) => {
    const change = changes.get(showAttrPath(build.attrPath))
    const line = change === undefined ? undefined : changeWhy(change)
    return line === undefined ? [] : [[showAttrPath(build.attrPath), line] as const]
  })
  yield* emit(
    flagsIn,
    environment,
    ciReport(planned, rendered, { tree: flagsIn.why || flagsIn.verbose }),
    { ...rendered, metaData: [...rendered.metaData, ...planWhyMetaData(whyLines)] },
    ciPlanJson(planned, rendered),
    {
      annotation: ciAnnotation(planned),
      forcedAnnotation: forcedAnnotation(planned),
      metaData: [{ key: metaDataKeys.planActions, value: JSON.stringify(planned.actions.map((action) => action.name)) }]
    }
  )
})

/**
 * Why each output changed: its derivations at base and head compared, and the flake
 * inputs whose lock moved. Nothing here fails the plan; a base that was not
 * evaluated has nothing to compare with.
 */
const explainedAtMost = 200

const noLocks = [Option.none<string>(), Option.none<string>()] as const

const explainChanges = Effect.fnUntraced(function*(
  base: Base,
  changed: CiPlan["changed"],
  [baseLock, headLock]: readonly [Option.Option<string>, Option.Option<string>]
) {
  if (base._tag === "Unavailable" || changed.length === 0) return { changed, flakeInputs: [] }
  const derivations = yield* Derivations
  const drvPath = changed.find((change) => change.headDrvPath !== null)?.headDrvPath
  const storeDir = drvPath == null ? "/nix/store" : drvPath.slice(0, drvPath.lastIndexOf("/"))
  const flakeInputs = flakeInputChanges(Option.getOrUndefined(baseLock), Option.getOrUndefined(headLock), storeDir)
  // When everything changed (an input every output uses), the first outputs say it.
  const answers = yield* derivations.explain(
    changed.slice(0, explainedAtMost).map((change) => ({ attrPath: change.attrPath, base: change.baseDrvPath, head: change.headDrvPath })),
    { flakeInputs }
  )
  const skipped = `not looked into: ${changed.length} outputs changed, and the first ${explainedAtMost} are explained; \`tool why\` explains any`
  return {
    changed: changed.map((change, index) => {
      const answer = answers[index]
      return answer === undefined ? { ...change, why: [], whyError: skipped } : { ...change, why: answer.why, whyError: answer.error }
    }),
    flakeInputs
  }
})
