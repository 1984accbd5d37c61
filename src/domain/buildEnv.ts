import { Schema } from "effect"

/**
 * The environment of what the generated pipelines start: set on their command steps
 * and their deploy builds by `tool plan`, read by the cicd plugin and the Discord bot
 * (and STEP_DATA, src/domain/StepData.ts, by `tool plan` in the deploy build).
 */

/** On every generated command step: that the tool made it, what it does, and whether it deploys. */
export const managedEnv = (operation: "check" | "build" | "deploy", deploy: boolean) => ({
  DENBEIGH_MANAGED: "true",
  DENBEIGH_DEPLOY: deploy ? "true" : "false",
  BUILDKITE_PLUGIN_CICD_OPERATION: operation
})

/** On a deploy build and its steps: the action it deploys. */
export const deployActionEnv = "DENBEIGH_DEPLOY_ACTION_NAME"

/** On a deploy build: the CI build that triggered it, whose Discord message shows the deploy too. */
export const SourceBuildEnv = Schema.Struct({
  DENBEIGH_DEPLOY: Schema.Literal("true"),
  DENBEIGH_SOURCE_BUILD_ID: Schema.String,
  DENBEIGH_SOURCE_PIPELINE: Schema.String,
  DENBEIGH_SOURCE_BUILD_NUMBER: Schema.String.pipe(Schema.check(Schema.isPattern(/^\d+$/)))
})
export type SourceBuildEnv = typeof SourceBuildEnv.Type
