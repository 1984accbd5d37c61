import { Effect, Option, Schema } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { StepDataFromJson } from "../../domain/StepData.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { Nix } from "../../nix/Nix.ts"
import { checkStepData, stepData } from "../../plan/StepData.ts"
import { renderDeployPipeline } from "../../render/pipeline.ts"
import { deployPlanJson, deployReport } from "../../render/report.ts"
import { checkoutOf } from "./checkout.ts"
import { emit } from "./emit.ts"
import { type PlanFlags, settingsFrom } from "./flags.ts"

/**
 * Deploy mode: `STEP_DATA` names an action and its steps, but whoever starts a deploy
 * build can set it. So it is decoded strictly (names, text, targets of the checked-out
 * flake), the flake at the build's commit is evaluated as `tool plan` evaluates any
 * head, and the pipeline is rendered from what the flake declares for the action, only
 * when STEP_DATA says exactly that.
 */
export const planDeploy = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment) {
  if (environment.STEP_DATA === undefined) {
    return yield* new PlanInputError({ place: "STEP_DATA", detail: "DENBEIGH_DEPLOY is true but STEP_DATA is not set; a deploy build is started by the CI pipeline's trigger step" })
  }
  const pullRequest = pullRequestOf(environment)
  if (pullRequest !== undefined) {
    return yield* new PlanInputError({ place: "BUILDKITE_PULL_REQUEST", detail: `this deploy build is for pull request #${pullRequest}; a pull request never deploys` })
  }
  const given = yield* Schema.decodeUnknownEffect(StepDataFromJson)(environment.STEP_DATA).pipe(
    Effect.mapError((error) => new PlanInputError({ place: "STEP_DATA", detail: error.message }))
  )
  const nix = yield* Nix
  const [system, checkout] = yield* Effect.all([
    Option.match(flagsIn.system, { onNone: () => nix.currentSystem, onSome: Effect.succeed }),
    checkoutOf(flagsIn, environment, [])
  ], { concurrency: "unbounded" })
  // Never from the evaluation cache: whatever runs on the agent (a pull request's checks
  // too) can write there, and STEP_DATA must be checked against the flake itself.
  const evaluation = yield* nix.evaluate(checkout.source(checkout.head), system, { withActions: true })
  const actions = evaluation.actions ?? {}
  const action = Object.hasOwn(actions, given.action) ? actions[given.action] : undefined
  const data = yield* Effect.fromResult(checkStepData(
    given,
    action === undefined ? undefined : stepData(checkout.flakeDir, given.action, action),
    { commit: checkout.head, actions: Object.keys(actions) }
  ))
  const pipeline = yield* Effect.fromResult(renderDeployPipeline(data, settingsFrom(flagsIn, environment, system)))
  yield* emit(flagsIn, environment, deployReport(data, pipeline), { pipeline, metaData: [] }, deployPlanJson(data, pipeline))
})
