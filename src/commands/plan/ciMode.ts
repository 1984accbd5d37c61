import { Effect, type FileSystem, Option, type Path } from "effect"
import type { PlanInputError } from "../../domain/errors.ts"
import type { BuildkiteAgent, BuildkiteAgentError } from "../../effects/BuildkiteAgent.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import type { Git, GitError } from "../../effects/Git.ts"
import { Nix, type NixEvalError, type NixOutputInvalid, type NixUnavailable } from "../../nix/Nix.ts"
import { makePlan } from "../../plan/Plan.ts"
import { renderCiPipeline } from "../../render/pipeline.ts"
import { ciPlanJson, ciReport } from "../../render/report.ts"
import { chooseBase } from "./base.ts"
import { checkoutOf, headRevOf, readRefs } from "./checkout.ts"
import { emit } from "./emit.ts"
import { evaluateBase, planningSystem } from "./evaluation.ts"
import { type PlanFlags, settingsFrom } from "./flags.ts"

/**
 * CI mode: evaluate the head and the base, decide (`makePlan`), render the CI
 * pipeline and emit it.
 */

type PlanCiError = PlanInputError | GitError | NixEvalError | NixUnavailable | NixOutputInvalid | BuildkiteAgentError

// Typed by hand because it calls itself when Nix's system differs from the guess.
export const planCi: (
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment
) => Effect.Effect<void, PlanCiError, Git | Nix | Path.Path | FileSystem.FileSystem | BuildkiteAgent> = Effect.fnUntraced(function*(flagsIn, environment) {
  const nix = yield* Nix

  // Everything that does not wait on something else starts at once: the evaluations
  // dominate, and each step before them adds to the wall time of every plan.
  const { system, confirmed } = yield* planningSystem(flagsIn.system)
  const requestedBase = Option.getOrUndefined(flagsIn.base)
  const [, { repository, shallow, head, flakeDir, source, resolved: [previous, requested] }] = yield* Effect.all([
    nix.version,
    checkoutOf(flagsIn, environment, [`${headRevOf(flagsIn, environment).rev}^`, ...(requestedBase === undefined ? [] : [requestedBase])])
  ], { concurrency: "unbounded" })

  const [headEvaluation, base, { refs, dirty }] = yield* Effect.all([
    nix.evaluate(source(head), system, { withActions: true }),
    chooseBase(repository, shallow, head, {
      requested: requestedBase === undefined ? Option.none() : Option.some([requestedBase, requested!] as const),
      previous: previous!
    }, environment).pipe(Effect.flatMap((commit) => evaluateBase(commit, source, system))),
    readRefs(flagsIn, environment, repository, head)
  ], { concurrency: "unbounded" })

  const actual = yield* confirmed
  if (actual !== system) return yield* planCi({ ...flagsIn, system: Option.some(actual) }, environment)

  const plan = yield* Effect.fromResult(makePlan({
    system,
    flakeDir,
    head,
    headEvaluation,
    base,
    refs,
    pullRequest: pullRequestOf(environment)
  }))
  const warnings = dirty
    ? [`the work tree has uncommitted changes, which this plan leaves out: it is for commit ${head.slice(0, 12)} (tool run plans the work tree)`, ...plan.warnings]
    : plan.warnings
  const planned = { ...plan, warnings }
  const rendered = yield* Effect.fromResult(renderCiPipeline(planned, settingsFrom(flagsIn, environment, system)))
  yield* emit(flagsIn, environment, ciReport(planned, rendered), rendered, ciPlanJson(planned, rendered))
})
