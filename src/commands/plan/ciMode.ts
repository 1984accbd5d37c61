import { Effect, Fiber, Option, type Path } from "effect"
import type { PlanInputError } from "../../domain/errors.ts"
import type { BuildkiteAgent, BuildkiteAgentError } from "../../effects/BuildkiteAgent.ts"
import { type BuildkiteEnvironment, inBuildkite, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { Git, type GitError } from "../../effects/Git.ts"
import { Nix, type NixEvalError, type NixOutputInvalid, type NixUnavailable } from "../../nix/Nix.ts"
import { type Base, makePlan } from "../../plan/Plan.ts"
import { renderCiPipeline } from "../../render/pipeline.ts"
import { ciPlanJson, ciReport } from "../../render/report.ts"
import { type BaseCommit, chooseBase } from "./base.ts"
import { checkoutOf, headRevOf } from "./checkout.ts"
import { emit } from "./emit.ts"
import { guessSystem } from "./evaluation.ts"
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
