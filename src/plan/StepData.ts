import { Schema } from "effect"

/**
 * `STEP_DATA`: one action's deploy steps, resolved, carried by the trigger step into
 * the deploy pipeline's build environment. The deploy pipeline's `tool plan` renders
 * its steps from this alone, without evaluating the flake again.
 */

const Label = Schema.String.pipe(Schema.check(Schema.isNonEmpty()))

export const StepDataRun = Schema.Struct({
  type: Schema.Literal("run"),
  name: Label,
  label: Label,
  /** An installable, for example `.#apps.x86_64-linux.deploy-bot-staging`. */
  target: Label,
  retries: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 10 })))
})
export const StepDataWait = Schema.Struct({ type: Schema.Literal("wait") })
export const StepDataBlock = Schema.Struct({
  type: Schema.Literal("block"),
  label: Schema.NullOr(Label),
  prompt: Schema.NullOr(Label)
})

export const StepData = Schema.Struct({
  version: Schema.Literal(1),
  action: Label,
  steps: Schema.Array(Schema.Union([StepDataRun, StepDataWait, StepDataBlock]))
})
export type StepData = typeof StepData.Type
export type StepDataStep = StepData["steps"][number]

export const StepDataFromJson = Schema.fromJsonString(StepData)
