import { Schema } from "effect"
import { parseInstallable, unrepresentableSegment } from "./installable.ts"
import { loneSurrogate, unmeantCharacter, unmeantDetail } from "./names.ts"

/**
 * `STEP_DATA`: one action's deploy steps, resolved, carried by the trigger step into
 * the deploy pipeline's build environment. Anyone who can start a deploy build can
 * set it, so it is input to check, not to trust: the deploy pipeline's `tool plan`
 * decodes it with this schema, then runs only what the flake at the build's commit
 * declares for the action (`checkStepData`, src/plan/StepData.ts).
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
  /** The system the action deploys from: its steps are that system's, and run on its agents. */
  system: Name,
  steps: Schema.Array(Schema.Union([StepDataRun, StepDataWait, StepDataBlock]))
})
export type StepData = typeof StepData.Type
export type StepDataStep = StepData["steps"][number]

export const StepDataFromJson = Schema.fromJsonString(StepData)
