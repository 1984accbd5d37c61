import { availableParallelism } from "node:os"
import type { AttrPath } from "../domain/installable.ts"
import type { Action, DescribedAction, FlakeEvaluation, Output, TargetDescription, WorkerEvaluation } from "./FlakeEvaluation.ts"

/**
 * A flake's evaluation by several `nix eval`s at once, as nix-eval-jobs evaluates with several
 * workers: each lists every output name and evaluates a contiguous slice of them
 * (nix/ci-actions.nix), and the last also the formatter, the apps and the actions. Pure: how
 * many workers, and their evaluations made into the one evaluation a single `nix eval` would
 * have given, its targets resolved.
 */

/** The most workers an evaluation gets by default: each holds its own evaluation of the flake. */
export const defaultMaxWorkers = 4

/** The most workers `CI_EVAL_WORKERS` may ask for. */
const maxWorkers = 64

/** `CI_EVAL_WORKERS` as a number of workers; undefined when unset, NaN when it is not one. */
const givenWorkers = (variable: string | undefined): number | undefined =>
  variable === undefined || variable === "" ? undefined : /^[0-9]{1,3}$/.test(variable) && Number(variable) >= 1 && Number(variable) <= maxWorkers ? Number(variable) : NaN

/** What is wrong with `CI_EVAL_WORKERS`, if anything. */
export const workersVariableProblem = (variable: string | undefined): string | undefined =>
  Number.isNaN(givenWorkers(variable)) ? `expected a whole number of workers from 1 to ${maxWorkers}, got ${JSON.stringify(variable)}` : undefined

/**
 * How many workers evaluate one commit: `CI_EVAL_WORKERS` when set, else the cores shared
 * between the evaluations that start together, at most `defaultMaxWorkers`. The head start
 * and the plan decide it alike, so that the plan takes over the processes the head start began.
 */
export const workersFor = (evaluationsTogether: number, variable: string | undefined, cores: number = availableParallelism()): number => {
  const given = givenWorkers(variable)
  if (given !== undefined && !Number.isNaN(given)) return given
  return Math.max(1, Math.min(defaultMaxWorkers, Math.floor(cores / Math.max(1, evaluationsTogether))))
}

/** A head's workers: the cores it shares with the base evaluated beside it, if one is. */
export const headWorkersFor = (baseBeside: boolean, variable: string | undefined): number => workersFor(baseBeside ? 2 : 1, variable)

const searched = (system: string) => `packages, checks, devShells, formatter and apps for ${system}`

/** Why a target is none of the flake's outputs, in the words ci-actions.nix used when it resolved them. */
const unreachable = (target: TargetDescription, system: string): string =>
  "program" in target
    ? `${target.path}: the app with program ${JSON.stringify(target.program)} is not one of this flake's apps for ${system}; a target must be reachable from the flake's outputs (${searched(system)})`
    : `${target.path}: the derivation ${JSON.stringify(target.name ?? target.storePath)} is not an output of this flake for ${system}; expose it, for example as packages.${system}.${
      target.pname ?? target.name ?? "<name>"
    }, so every agent can build it (searched ${searched(system)})`

export type Merged =
  | { readonly _tag: "Merged"; readonly evaluation: FlakeEvaluation }
  | { readonly _tag: "Unreachable"; readonly message: string }

/**
 * The workers' evaluations, in worker order, as one: the outputs concatenated, an app's
 * derivation found by its store path, and every target resolved to the attribute path of the
 * output it is, the first in order when several are (packages before checks before devShells,
 * `default` last). The first target that is none of them, in the order Nix prints the actions,
 * is the evaluation's error.
 */
export const mergeWorkers = (workers: ReadonlyArray<WorkerEvaluation>, system: string): Merged => {
  const last = workers.at(-1)!
  const outputs = workers.flatMap((worker) => worker.outputs)
  const byStorePath = new Map<string, AttrPath>()
  const byProgram = new Map<string, AttrPath>()
  for (const output of outputs) {
    if (output.kind === "apps") {
      if (output.program != null && !byProgram.has(output.program)) byProgram.set(output.program, output.attrPath)
    } else if (output.storePath !== null && !byStorePath.has(output.storePath)) {
      byStorePath.set(output.storePath, output.attrPath)
    }
  }
  const withDerivations = outputs.map((output): Output =>
    output.kind === "apps" ? { ...output, derivation: output.storePath === null ? null : byStorePath.get(output.storePath) ?? null } : output
  )
  let problem: string | undefined
  const resolve = (target: TargetDescription): AttrPath => {
    const found = "program" in target ? byProgram.get(target.program) : byStorePath.get(target.storePath)
    if (found === undefined) problem ??= unreachable(target, system)
    return found ?? [target.path]
  }
  const actions = last.actions === null ? null : Object.fromEntries(
    Object.entries(last.actions).map(([name, action]) => [name, resolveAction(action, resolve)])
  )
  if (problem !== undefined) return { _tag: "Unreachable", message: problem }
  return { _tag: "Merged", evaluation: { ...last, outputs: withDerivations, actions } }
}

// In the order Nix prints an action's fields (by name), so the first unreachable target is the one Nix would have met first.
const resolveAction = (action: DescribedAction, resolve: (target: TargetDescription) => AttrPath): Action => {
  const builds = action.builds.map(resolve)
  const checks = action.checks.map((check) => ({ ...check, target: resolve(check.target) }))
  const conditions = action.conditions.map((condition) => condition.kind === "changed" ? { ...condition, targets: condition.targets.map(resolve) } : condition)
  const deploySteps = action.deploySteps.map((step) => step.type === "run" ? { ...step, target: resolve(step.target) } : step)
  return { ...action, builds, checks, conditions, deploySteps }
}
