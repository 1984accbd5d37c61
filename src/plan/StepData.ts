import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { installable } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import type { Action } from "../nix/FlakeEvaluation.ts"

/**
 * STEP_DATA (its schema: src/domain/StepData.ts) as the CI plan writes it for an
 * action, and as a deploy build checks what it was given against the flake.
 */

/**
 * What an action declares for its deploy build: the STEP_DATA its trigger step carries.
 * `action` is the action as evaluated for `system`, the system it deploys from.
 */
export const stepData = (flakeDir: string, name: string, action: Action, system: string): StepData => ({
  version: 1,
  action: name,
  system,
  steps: action.deploySteps.map((step) => {
    switch (step.type) {
      case "run":
        return {
          type: "run" as const,
          name: step.name,
          label: step.label,
          target: installable(flakeDir, step.target),
          retries: step.retries
        }
      case "wait":
        return { type: "wait" as const }
      case "block":
        return { type: "block" as const, label: step.label, prompt: step.prompt }
    }
  })
})

/**
 * The deploy an action declares, as evaluated for the system it deploys from: its own
 * `deploySystem` there must be that system or unset (unset: whichever system plans).
 * Else the place and why, for the caller to name in its error.
 */
export const deployFrom = (flakeDir: string, name: string, action: Action, system: string): Result.Result<StepData, string> => {
  const declared = action.deploySystem ?? null
  return declared === null || declared === system
    ? Result.succeed(stepData(flakeDir, name, action, system))
    : Result.fail(`evaluated for ${system}, ${JSON.stringify(name)} deploys from ${declared}`)
}

type Difference = { readonly place: string; readonly given: unknown; readonly declared: unknown }

/** The first place where two JSON values differ; undefined stands for "absent". */
const firstDifference = (given: unknown, declared: unknown, place: string): Difference | undefined => {
  if (Array.isArray(given) && Array.isArray(declared)) {
    for (let i = 0; i < Math.max(given.length, declared.length); i++) {
      const difference = firstDifference(given[i], declared[i], `${place}[${i}]`)
      if (difference !== undefined) return difference
    }
    return undefined
  }
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)
  if (isObject(given) && isObject(declared)) {
    for (const key of new Set([...Object.keys(declared), ...Object.keys(given)])) {
      const difference = firstDifference(given[key], declared[key], `${place}.${key}`)
      if (difference !== undefined) return difference
    }
    return undefined
  }
  return Object.is(given, declared) ? undefined : { place, given, declared }
}

const show = (value: unknown): string => {
  if (value === undefined) return "nothing"
  const json = JSON.stringify(value)
  return json.length > 200 ? `${json.slice(0, 197)}...` : json
}

/**
 * What a deploy build runs: the steps the flake at `commit` declares for the action
 * `given` names (`declared`, from evaluating it), and only when `given` says exactly
 * that. Anything else is refused, naming the first difference.
 */
export const checkStepData = (
  given: StepData,
  declared: StepData | undefined,
  context: { readonly commit: string; readonly actions: ReadonlyArray<string> }
): Result.Result<StepData, PlanInputError> => {
  const flake = `the flake at ${context.commit.slice(0, 12)}`
  if (declared === undefined) {
    const actions = context.actions.length === 0 ? "none" : context.actions.join(", ")
    return Result.fail(new PlanInputError({ place: "STEP_DATA.action", detail: `${flake} declares no action ${JSON.stringify(given.action)} (its actions: ${actions})` }))
  }
  const difference = firstDifference(given, declared, "STEP_DATA")
  return difference === undefined
    ? Result.succeed(declared)
    : Result.fail(
      new PlanInputError({
        place: difference.place,
        detail: `${flake} declares ${show(difference.declared)} for ${JSON.stringify(declared.action)}, STEP_DATA has ${show(difference.given)}; a deploy runs only what the flake at its commit declares`
      })
    )
}
