import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { type AttrPath, showAttrPath, unrepresentableSegment } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import type { Action, FlakeEvaluation, Output } from "../nix/FlakeEvaluation.ts"
import type { FlakeInputChange } from "../nix/flakeLock.ts"
import { type ChangeLookup, type ConditionResult, evaluateCondition, type RefContext } from "./conditions.ts"
import { type ForceRequest, resolveForced } from "./forcing.ts"
import { deployFrom, stepData } from "./StepData.ts"
import type { Difference } from "./why.ts"

/**
 * The plan for one build: what changed between base and head, which actions
 * trigger and why, and the checks, builds and deploys that follow. Pure: every
 * input has already been read and decoded.
 */

/**
 * The base commit, evaluated, or the reason it could not be: then everything counts
 * as changed. `choice` says why this commit (src/commands/plan/base.ts).
 */
export type Base =
  | { readonly _tag: "Evaluated"; readonly sha: string; readonly evaluation: FlakeEvaluation; readonly choice: string }
  | { readonly _tag: "Unavailable"; readonly sha: string | undefined; readonly reason: string; readonly choice: string }

export interface OutputChange {
  readonly attrPath: string
  /** The output path at base; null when absent there (or not evaluable). */
  readonly base: string | null
  /** The output path at head; null when it failed to evaluate. */
  readonly head: string | null
  /** Why it failed to evaluate at head: Nix's message and where. */
  readonly error?: string
  /** The store derivations behind them, for saying why (src/plan/why.ts). */
  readonly baseDrvPath: string | null
  readonly headDrvPath: string | null
  /** Why it changed, once explained (`Derivations.explain`); `whyError` when it could not be. */
  readonly why?: ReadonlyArray<Difference>
  readonly whyError?: string | null
}

export interface ActionPlan {
  readonly name: string
  readonly triggered: boolean
  /** The base its `changed` conditions compared with, when not the plan's. */
  readonly base: Base | undefined
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

/** Another system's build step: its outputs that changed (actions are planned for one system). */
export interface SystemBuilds {
  readonly system: string
  readonly builds: ReadonlyArray<PlannedBuild>
}

export interface CiPlan {
  readonly system: string
  /** The other systems CI covers that have something to build, each built on an agent of its own. */
  readonly otherSystems: ReadonlyArray<SystemBuilds>
  /** Every system this plan covers (mkActions' `systems`, unless --system names one); unset: `system` alone. */
  readonly systems?: ReadonlyArray<string>
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
  /** The flake inputs whose lock changed between base and head, once explained. */
  readonly flakeInputs?: ReadonlyArray<FlakeInputChange>
}

export interface PlanInput {
  readonly system: string
  readonly flakeDir: string
  readonly head: string
  readonly headEvaluation: FlakeEvaluation
  readonly base: Base
  /** Actions whose `changed` conditions compare with another base than the builds'. */
  readonly actionBases?: ReadonlyMap<string, Base>
  readonly refs: RefContext
  /** The pull request number when this is a pull-request build. */
  readonly pullRequest: string | undefined
  /** `CI_ACTIONS` and the commits' `[ci deploy …]` directives. */
  readonly forced: ReadonlyArray<ForceRequest>
  /** Head evaluated with actions for each system of `deploySystemsOf`: where those deploys' steps come from. */
  readonly deployEvaluations?: ReadonlyMap<string, FlakeEvaluation>
}

/** The systems other than the planning one that the flake's deploying actions deploy from. */
export const deploySystemsOf = (head: FlakeEvaluation, system: string): ReadonlyArray<string> => [
  ...new Set(
    Object.values(head.actions ?? {}).flatMap((action) =>
      action.deploySteps.length > 0 && action.deploySystem != null && action.deploySystem !== system ? [action.deploySystem] : []
    )
  )
]

/**
 * An action's deploy: its steps as the flake declares them for the system it deploys
 * from, so its targets are that system's outputs (an evaluation for another system
 * resolves them there, or fails naming the place).
 */
const deployOf = (input: PlanInput, name: string, action: Action): Result.Result<StepData, PlanInputError> => {
  const system = action.deploySystem ?? input.system
  if (system === input.system) return Result.succeed(stepData(input.flakeDir, name, action, system))
  const actions = input.deployEvaluations?.get(system)?.actions ?? {}
  const there = Object.hasOwn(actions, name) ? actions[name] : undefined
  const declared = there === undefined
    ? Result.fail(`the flake declares no action ${JSON.stringify(name)} for ${system} (its actions there: ${Object.keys(actions).join(", ") || "none"})`)
    : deployFrom(input.flakeDir, name, there, system)
  return Result.mapError(declared, (detail) => new PlanInputError({ place: `${action.path}.deploySystem`, detail }))
}

const changesBetween = (head: FlakeEvaluation, base: Base): ReadonlyArray<OutputChange> => {
  const before = new Map<string, Output>()
  if (base._tag === "Evaluated") {
    for (const output of base.evaluation.outputs) before.set(showAttrPath(output.attrPath), output)
  }
  return head.outputs.flatMap((output) => {
    const attrPath = showAttrPath(output.attrPath)
    const previous = before.get(attrPath)
    const storePath = previous?.storePath ?? null
    return storePath !== null && storePath === output.storePath ? [] : [{
      attrPath,
      base: storePath,
      head: output.storePath,
      baseDrvPath: previous?.drvPath ?? null,
      headDrvPath: output.drvPath ?? null,
      ...(output.storePath === null && output.error !== undefined ? { error: output.error } : {})
    }]
  })
}

/** What `changed` conditions are judged against: the changes from one base. */
const lookupOf = (changed: ReadonlyArray<OutputChange>, base: Base): ChangeLookup => {
  const changedKeys = new Set(changed.map((change) => change.attrPath))
  return {
    isChanged: (key) => changedKeys.has(key),
    everythingChangedBecause: base._tag === "Unavailable" ? base.reason : undefined
  }
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
        warnings.push(`${change.attrPath} failed to evaluate at head: ${change.error ?? "no reason given"}`)
      }
    }
    const lookup = lookupOf(changed, input.base)

    const actionPlans: Array<ActionPlan> = []
    for (const [name, action] of actions) {
      const base = input.actionBases?.get(name)
      const changes = base === undefined ? lookup : lookupOf(changesBetween(head, base), base)
      if (base?._tag === "Unavailable") warnings.push(`${name}: everything counts as changed: ${base.reason}`)
      const forcedBy = forced.get(name)
      const conditions: Array<ConditionResult> = []
      for (const condition of action.conditions) conditions.push(yield* evaluateCondition(condition, input.refs, changes, forcedBy))
      const triggered = conditions.every((condition) => condition.ok)
      const deployWithheld = triggered && input.pullRequest !== undefined && action.deploySteps.length > 0
        ? `pull request #${input.pullRequest}: a pull-request build never deploys`
        : undefined
      if (deployWithheld !== undefined) warnings.push(`${name} would deploy, but ${deployWithheld}`)
      actionPlans.push({ name, triggered, base, conditions, forcedBy, deployWithheld })
    }
    const triggeredActions = actions.filter((_, i) => actionPlans[i]!.triggered)
    const deploys: Array<StepData> = []
    for (const [i, [name, action]] of actions.entries()) {
      if (actionPlans[i]!.triggered && action.deploySteps.length > 0 && actionPlans[i]!.deployWithheld === undefined) {
        deploys.push(yield* deployOf(input, name, action))
      }
    }

    return {
      system: input.system,
      otherSystems: [],
      flakeDir: input.flakeDir,
      head: input.head,
      base: input.base,
      changed,
      actions: actionPlans,
      checks: plannedChecks(triggeredActions),
      // A deploy from another system has its targets built there (`systemBuilds`).
      builds: discoverBuilds(
        head.outputs,
        changed,
        triggeredActions.map(([name, action]) => [name, (action.deploySystem ?? input.system) === input.system ? action : { ...action, deploySteps: [] }] as const)
      ),
      deploys,
      warnings
    }
  })

/**
 * What another system builds: its outputs whose store path differs from the base's, and
 * the targets of the deploys that run there (`deploying`, action names: `head` is then
 * evaluated with actions).
 */
export const systemBuilds = (
  system: string,
  head: FlakeEvaluation,
  base: Base,
  deploying: ReadonlyArray<string> = []
): Result.Result<SystemBuilds, PlanInputError> =>
  Result.map(checkRepresentable(head.outputs), () => {
    const actions = head.actions ?? {}
    const deploys = deploying.flatMap((name) => {
      const action = Object.hasOwn(actions, name) ? actions[name] : undefined
      return action === undefined ? [] : [[name, { ...action, conditions: [], checks: [], builds: [] }] as const]
    })
    return { system, builds: discoverBuilds(head.outputs, changesBetween(head, base), deploys) }
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
