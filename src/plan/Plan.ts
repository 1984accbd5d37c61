import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { type AttrPath, showAttrPath, unrepresentableSegment } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import type { Action, FlakeEvaluation, Output } from "../nix/FlakeEvaluation.ts"
import { type ChangeLookup, type ConditionResult, evaluateCondition, type RefContext } from "./conditions.ts"
import { type ForceRequest, resolveForced } from "./forcing.ts"
import { stepData } from "./StepData.ts"

/**
 * The plan for one build: what changed between base and head, which actions
 * trigger and why, and the checks, builds and deploys that follow. Pure: every
 * input has already been read and decoded.
 */

/** The base commit, evaluated, or the reason it could not be: then everything counts as changed. */
export type Base =
  | { readonly _tag: "Evaluated"; readonly sha: string; readonly evaluation: FlakeEvaluation }
  | { readonly _tag: "Unavailable"; readonly sha: string | undefined; readonly reason: string }

export interface OutputChange {
  readonly attrPath: string
  /** The output path at base; null when absent there (or not evaluable). */
  readonly base: string | null
  /** The output path at head; null when it failed to evaluate. */
  readonly head: string | null
}

export interface ActionPlan {
  readonly name: string
  readonly triggered: boolean
  readonly conditions: ReadonlyArray<ConditionResult>
  /** What forced the action (`CI_ACTIONS`, `commit 0123456789ab`): its `changed` conditions hold. */
  readonly forcedBy: string | undefined
  /** Why a triggered action's deploy is held back. */
  readonly deployWithheld: string | undefined
}

export interface PlannedCheck {
  readonly name: string
  readonly displayName: string
  readonly target: AttrPath
  readonly actions: ReadonlyArray<string>
}

export interface PlannedBuild {
  readonly attrPath: AttrPath
  readonly reasons: ReadonlyArray<string>
}

export interface CiPlan {
  readonly system: string
  /** The flake's directory relative to the repository root, which steps run in. */
  readonly flakeDir: string
  readonly head: string
  readonly base: Base
  readonly changed: ReadonlyArray<OutputChange>
  readonly actions: ReadonlyArray<ActionPlan>
  readonly checks: ReadonlyArray<PlannedCheck>
  readonly builds: ReadonlyArray<PlannedBuild>
  readonly deploys: ReadonlyArray<StepData>
  readonly warnings: ReadonlyArray<string>
}

export interface PlanInput {
  readonly system: string
  readonly flakeDir: string
  readonly head: string
  readonly headEvaluation: FlakeEvaluation
  readonly base: Base
  readonly refs: RefContext
  /** The pull request number when this is a pull-request build. */
  readonly pullRequest: string | undefined
  /** `CI_ACTIONS` and the commits' `[ci deploy …]` directives. */
  readonly forced: ReadonlyArray<ForceRequest>
}

const changesBetween = (head: FlakeEvaluation, base: Base): ReadonlyArray<OutputChange> => {
  const before = new Map<string, string | null>()
  if (base._tag === "Evaluated") {
    for (const output of base.evaluation.outputs) before.set(showAttrPath(output.attrPath), output.storePath)
  }
  return head.outputs.flatMap((output) => {
    const attrPath = showAttrPath(output.attrPath)
    const previous = before.get(attrPath) ?? null
    return previous !== null && previous === output.storePath ? [] : [{ attrPath, base: previous, head: output.storePath }]
  })
}

/** A check name must mean one check: the same name in two actions must run the same target. */
const checkConsistency = (actions: ReadonlyArray<readonly [string, Action]>): Result.Result<void, PlanInputError> => {
  const seen = new Map<string, { target: string; path: string }>()
  for (const [, action] of actions) {
    for (const check of action.checks) {
      const target = showAttrPath(check.target)
      const first = seen.get(check.name)
      if (first === undefined) seen.set(check.name, { target, path: check.path })
      else if (first.target !== target) {
        return Result.fail(
          new PlanInputError({
            place: `${check.path}.name`,
            detail: `check ${JSON.stringify(check.name)} is also declared at ${first.path} with another target (${first.target}, here ${target}); give one of them another name`
          })
        )
      }
    }
  }
  return Result.succeed(undefined)
}

const checkRepresentable = (outputs: ReadonlyArray<Output>): Result.Result<void, PlanInputError> => {
  for (const output of outputs) {
    const bad = unrepresentableSegment(output.attrPath)
    if (bad !== undefined) {
      return Result.fail(
        new PlanInputError({
          place: output.attrPath.join("."),
          detail: `the attribute name ${JSON.stringify(bad)} cannot be written in an installable; rename it`
        })
      )
    }
  }
  return Result.succeed(undefined)
}

export const makePlan = (input: PlanInput): Result.Result<CiPlan, PlanInputError> =>
  Result.gen(function*() {
    const head = input.headEvaluation
    const actions = Object.entries(head.actions ?? {}).sort(([a], [b]) => a.localeCompare(b))
    yield* checkRepresentable(head.outputs)
    yield* checkConsistency(actions)
    const forced = yield* resolveForced(input.forced, actions.map(([name]) => name))

    const warnings: Array<string> = []
    if (!head.hasCiActions) warnings.push("the flake has no ciActions output: only what changed is built")
    if (input.base._tag === "Unavailable") {
      warnings.push(`everything counts as changed: ${input.base.reason}`)
    }

    const changed = changesBetween(head, input.base)
    for (const change of changed) {
      if (change.head === null) {
        warnings.push(`${change.attrPath} failed to evaluate at head; the build step will show why`)
      }
    }
    const changedKeys = new Set(changed.map((change) => change.attrPath))
    const lookup: ChangeLookup = {
      isChanged: (key) => changedKeys.has(key),
      everythingChangedBecause: input.base._tag === "Unavailable" ? input.base.reason : undefined
    }

    const actionPlans: Array<ActionPlan> = []
    for (const [name, action] of actions) {
      const forcedBy = forced.get(name)
      const conditions: Array<ConditionResult> = []
      for (const condition of action.conditions) conditions.push(yield* evaluateCondition(condition, input.refs, lookup, forcedBy))
      const triggered = conditions.every((condition) => condition.ok)
      const deployWithheld = triggered && input.pullRequest !== undefined && action.deploySteps.length > 0
        ? `pull request #${input.pullRequest}: a pull-request build never deploys`
        : undefined
      if (deployWithheld !== undefined) warnings.push(`${name} would deploy, but ${deployWithheld}`)
      actionPlans.push({ name, triggered, conditions, forcedBy, deployWithheld })
    }
    const triggeredActions = actions.filter((_, i) => actionPlans[i]!.triggered)

    return {
      system: input.system,
      flakeDir: input.flakeDir,
      head: input.head,
      base: input.base,
      changed,
      actions: actionPlans,
      checks: plannedChecks(triggeredActions),
      builds: discoverBuilds(head.outputs, changed, triggeredActions),
      deploys: triggeredActions
        .filter(([name, action]) => action.deploySteps.length > 0 && actionPlans.find((a) => a.name === name)?.deployWithheld === undefined)
        .map(([name, action]) => stepData(input.flakeDir, name, action)),
      warnings
    }
  })

const plannedChecks = (actions: ReadonlyArray<readonly [string, Action]>): ReadonlyArray<PlannedCheck> => {
  const checks = new Map<string, PlannedCheck>()
  for (const [name, action] of actions) {
    for (const check of action.checks) {
      const existing = checks.get(check.name)
      checks.set(check.name, {
        name: check.name,
        displayName: existing?.displayName ?? check.displayName,
        target: check.target,
        actions: [...(existing?.actions ?? []), name]
      })
    }
  }
  return [...checks.values()]
}

/**
 * Everything to build, once each: the outputs that changed, and every target a
 * triggered action refers to. An app is built through the derivation behind its
 * program when the flake exposes one; one derivation exposed under several names
 * is built under the first (packages before checks before devShells, `default` last).
 */
const discoverBuilds = (
  outputs: ReadonlyArray<Output>,
  changed: ReadonlyArray<OutputChange>,
  actions: ReadonlyArray<readonly [string, Action]>
): ReadonlyArray<PlannedBuild> => {
  const byKey = new Map(outputs.map((output, order) => [showAttrPath(output.attrPath), { output, order }]))
  const firstByStorePath = new Map<string, AttrPath>()
  for (const output of outputs) {
    if (output.storePath !== null && !firstByStorePath.has(output.storePath)) {
      firstByStorePath.set(output.storePath, output.derivation ?? output.attrPath)
    }
  }
  const canonical = (attrPath: AttrPath): AttrPath => {
    const found = byKey.get(showAttrPath(attrPath))?.output
    if (found === undefined) return attrPath
    return (found.storePath === null ? undefined : firstByStorePath.get(found.storePath)) ?? found.derivation ?? attrPath
  }

  const builds = new Map<string, { attrPath: AttrPath; reasons: Array<string> }>()
  const add = (attrPath: AttrPath, reason: string) => {
    const target = canonical(attrPath)
    const key = showAttrPath(target)
    const entry = builds.get(key) ?? { attrPath: target, reasons: [] }
    if (!entry.reasons.includes(reason)) entry.reasons.push(reason)
    builds.set(key, entry)
  }

  for (const change of changed) {
    const output = byKey.get(change.attrPath)?.output
    if (output !== undefined) add(output.attrPath, `${change.attrPath} changed`)
  }
  for (const [name, action] of actions) {
    for (const condition of action.conditions) {
      if (condition.kind === "changed") for (const target of condition.targets) add(target, `${name}: changed condition`)
    }
    for (const check of action.checks) add(check.target, `${name}: check ${check.name}`)
    for (const step of action.deploySteps) if (step.type === "run") add(step.target, `${name}: deploy step ${step.name}`)
    for (const target of action.builds) add(target, `${name}: builds`)
  }

  const order = (attrPath: AttrPath) => byKey.get(showAttrPath(attrPath))?.order ?? Number.MAX_SAFE_INTEGER
  return [...builds.values()].sort((a, b) => order(a.attrPath) - order(b.attrPath))
}
