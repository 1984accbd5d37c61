import { Effect, Option, Result, Schema } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { StepDataFromJson } from "../../domain/StepData.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { Nix } from "../../nix/Nix.ts"
import { checkStepData, deployFrom } from "../../plan/StepData.ts"
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
  if (Option.isSome(flagsIn.system) && flagsIn.system.value !== given.system) {
    return yield* new PlanInputError({
      place: "--system",
      detail: `this deploy build deploys ${JSON.stringify(given.action)} from ${JSON.stringify(given.system)} (STEP_DATA.system); leave --system out or name that system`
    })
  }
  const nix = yield* Nix
  const checkout = yield* checkoutOf(flagsIn, environment, [])
  const flake = `the flake at ${checkout.head.slice(0, 12)}`
  // Never from the evaluation cache: whatever runs on the agent (a pull request's checks
  // too) can write there, and STEP_DATA must be checked against the flake itself. Its
  // system is checked like the rest: evaluated for it, the flake must declare these very
  // steps, and no other system for the action to deploy from.
  const evaluation = yield* nix.evaluate(checkout.source(checkout.head), given.system, { withActions: true })
  const actions = evaluation.actions ?? {}
  const action = Object.hasOwn(actions, given.action) ? actions[given.action] : undefined
  const declared = action === undefined ? undefined : yield* Effect.fromResult(
    Result.mapError(deployFrom(checkout.flakeDir, given.action, action, given.system), (detail) =>
      new PlanInputError({ place: "STEP_DATA.system", detail: `${flake}, ${detail}; a deploy runs only on the system the flake at its commit declares` }))
  )
  const data = yield* Effect.fromResult(checkStepData(given, declared, { commit: checkout.head, actions: Object.keys(actions) }))
  // With several systems covered, agents are told apart by their system's tag.
  const pipeline = yield* Effect.fromResult(
    renderDeployPipeline(data, settingsFrom(flagsIn, environment), { routed: (evaluation.systems ?? []).length > 1 })
  )
  yield* emit(flagsIn, environment, deployReport(data, pipeline), { pipeline, metaData: [] }, deployPlanJson(data, pipeline))
})
