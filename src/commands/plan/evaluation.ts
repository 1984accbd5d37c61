import { Config, Effect, Fiber, Option } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { type EvaluationError, type EvaluationRequest, Evaluations } from "../../nix/Evaluations.ts"
import { guessSystem } from "../../nix/evaluationCommand.ts"
import type { FlakeEvaluation } from "../../nix/FlakeEvaluation.ts"
import type { FlakeSource } from "../../nix/flakeRef.ts"
import { Nix } from "../../nix/Nix.ts"
import { headWorkersFor, workersVariableProblem } from "../../nix/workerEvaluations.ts"
import type { Base } from "../../plan/Plan.ts"
import type { BaseCommit } from "./base.ts"

/** How `tool plan` has Nix evaluate the commits it compares, and for which system. */

/**
 * The system to plan for: `--system`, else Node's guess. Asking Nix costs a process
 * before anything can be evaluated, so Nix confirms the guess meanwhile: `confirmed`
 * is what Nix says, and a plan made for another system is made again.
 */
export const planningSystem = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  if (Option.isSome(flag)) return { system: flag.value, confirmed: Effect.succeed(flag.value) }
  const nix = yield* Nix
  const check = yield* Effect.forkChild(nix.currentSystem)
  return { system: guessSystem() ?? (yield* Fiber.join(check)), confirmed: Fiber.join(check) }
})

/**
 * How many `nix eval`s share the head's evaluation: the cores it has to itself, shared with the
 * base `--base` names unless the cache holds it, or `CI_EVAL_WORKERS`. The head start decides
 * alike (src/commands/plan/prestart.ts), so the plan takes its processes over.
 */
export const headWorkers = Effect.fnUntraced(function*(requestedBase: EvaluationRequest | undefined) {
  const variable = Option.getOrUndefined(yield* Config.option(Config.String("CI_EVAL_WORKERS")).pipe(Effect.orElseSucceed(() => Option.none())))
  const problem = workersVariableProblem(variable)
  if (problem !== undefined) return yield* new PlanInputError({ place: "CI_EVAL_WORKERS", detail: problem })
  const evaluations = yield* Evaluations
  return headWorkersFor(requestedBase !== undefined && !(yield* evaluations.isCached(requestedBase)), variable)
})

/** A base commit's evaluation as a Base: one without `ciActions`, or that failed, is `Unavailable` with the reason. */
const asBase = (
  commit: Extract<BaseCommit, { _tag: "Found" }>,
  evaluation: Effect.Effect<FlakeEvaluation, EvaluationError>
): Effect.Effect<Base> => {
  const unavailable = (reason: string): Base => ({
    _tag: "Unavailable",
    sha: commit.sha,
    reason: `base ${commit.sha.slice(0, 12)} ${reason}`,
    choice: commit.choice
  })
  return evaluation.pipe(
    Effect.map((evaluated): Base =>
      evaluated.hasCiActions ? { _tag: "Evaluated", sha: commit.sha, evaluation: evaluated, choice: commit.choice } : unavailable("has no ciActions output")
    ),
    Effect.catch((error) => Effect.succeed(unavailable(`could not be evaluated: ${error.message.split("\n")[0]}`)))
  )
}

/**
 * The base, evaluated as a head is but without actions. One that cannot be
 * evaluated, or has no `ciActions`, is `Unavailable` with the reason: everything
 * then counts as changed.
 */
export const evaluateBase = Effect.fnUntraced(function*(
  commit: BaseCommit,
  source: (rev: string) => FlakeSource,
  system: string
): Effect.fn.Return<Base, never, Evaluations> {
  if (commit._tag === "Unavailable") return commit
  const evaluations = yield* Evaluations
  return yield* asBase(commit, evaluations.evaluate({ source: source(commit.sha), system, withActions: false }))
})

/**
 * The base evaluator of one system, for one plan: each commit evaluated once, however
 * many bases (the builds', each action's) name it. Evaluations shares a request only
 * while it runs, so the plan keeps what it evaluated: the base chosen first (evaluated
 * beside head) is, but on a tag build, the base chosen at last, and a deploy's base is
 * often the same commit. Without this, `--no-cache` evaluated the base twice.
 */
export const baseEvaluator = Effect.fnUntraced(function*(source: (rev: string) => FlakeSource, system: string) {
  const evaluations = yield* Evaluations
  const evaluated = new Map<string, Effect.Effect<FlakeEvaluation, EvaluationError>>()
  return (commit: BaseCommit): Effect.Effect<Base> =>
    Effect.gen(function*() {
      if (commit._tag === "Unavailable") return commit
      let evaluation = evaluated.get(commit.sha)
      if (evaluation === undefined) {
        evaluation = yield* Effect.cached(evaluations.evaluate({ source: source(commit.sha), system, withActions: false }))
        evaluated.set(commit.sha, evaluation)
      }
      return yield* asBase(commit, evaluation)
    })
})
