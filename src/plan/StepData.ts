import { Result, Schema } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { parseInstallable, unrepresentableSegment } from "../domain/installable.ts"
import { loneSurrogate, unmeantCharacter, unmeantDetail } from "../domain/names.ts"

/**
 * `STEP_DATA`: one action's deploy steps, resolved, carried by the trigger step into
 * the deploy pipeline's build environment. Anyone who can start a deploy build can
 * set it, so it is input to check, not to trust: the deploy pipeline's `tool plan`
 * decodes it with this schema, then runs only what the flake at the build's commit
 * declares for the action (`src/commands/plan.ts`).
 */

/** A name (an action's, a step's): what nix/lib.nix's `expectName` accepts. */
const Name = Schema.String.pipe(
  Schema.check(
    Schema.isNonEmpty(),
    Schema.makeFilter((text: string) => {
      const found = unmeantCharacter(text)
      return found === undefined || unmeantDetail(found)
    })
  )
)

/**
 * Text for people (labels, prompts): whatever a Nix string can hold, so no NUL, and
 * no lone surrogate, which no YAML parser of the libyaml family can carry.
 */
const Text = Schema.String.pipe(
  Schema.check(
    Schema.isNonEmpty(),
    Schema.makeFilter((text: string) =>
      !(text.includes("\0") || loneSurrogate.test(text)) ||
      "expected text without NUL characters or lone surrogates"
    )
  )
)

/** `.`, or `./dir` for a flake in a subdirectory: the checked-out repository, never another flake. */
const isCheckedOutFlake = (ref: string): boolean =>
  ref === "." ||
  (ref.startsWith("./") &&
    ref.slice(2).split("/").every((segment) => segment !== "" && segment !== "." && segment !== ".." && !/[?#]/.test(segment)))

/** An installable of the checked-out flake, for example `.#apps.x86_64-linux.deploy-bot-staging`. */
const Target = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((text: string) => {
      const parsed = parseInstallable(text)
      if (parsed === undefined || !isCheckedOutFlake(parsed.flakeRef)) {
        return "expected an installable of the checked-out flake, such as .#apps.x86_64-linux.deploy"
      }
      const bad = unrepresentableSegment(parsed.attrPath)
      return bad === undefined || `the attribute name ${JSON.stringify(bad)} cannot be written in an installable`
    })
  )
)

export const StepDataRun = Schema.Struct({
  type: Schema.Literal("run"),
  name: Name,
  label: Text,
  target: Target,
  retries: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 10 })))
})
export const StepDataWait = Schema.Struct({ type: Schema.Literal("wait") })
export const StepDataBlock = Schema.Struct({
  type: Schema.Literal("block"),
  label: Schema.NullOr(Text),
  prompt: Schema.NullOr(Text)
})

export const StepData = Schema.Struct({
  version: Schema.Literal(1),
  action: Name,
  steps: Schema.Array(Schema.Union([StepDataRun, StepDataWait, StepDataBlock]))
})
export type StepData = typeof StepData.Type
export type StepDataStep = StepData["steps"][number]

export const StepDataFromJson = Schema.fromJsonString(StepData)

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
