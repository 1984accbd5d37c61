import { Schema } from "effect"

/**
 * Buildkite meta-data: what the tool's steps leave for each other and for the Discord
 * bot. Every key is here; docs/metadata.md describes each value.
 */

/** Buildkite refuses meta-data values over 100 KB. */
export const metaDataLimitBytes = 100_000

export interface MetaDataEntry {
  readonly key: string
  readonly value: string
}

export const metaDataKeys = {
  /** A check's result (`CheckResult`). */
  check: (name: string) => `ci:check:${name}`,
  /** A derivation's result (`DerivationResult`), by its target. */
  build: (target: string) => `ci:build:${target}`,
  /** `tool build`'s summary (`BuildSummary`). */
  buildSummary: "ci:build",
  /** A shard's summary (`BuildSummary`, with its `part`): `tool build --part <part>`. */
  buildPart: (part: string) => `ci:build-part:${part}`,
  /** A deploy step's result (`DeployResult`). */
  deploy: (name: string) => `ci:deploy:${name}`,
  /** The build step's installables, when too many for its command line (`plannedBuilds.ts`). */
  plannedBuilds: "ci:plan:builds",
  /** Why each planned build changed, one line each (`planWhy.ts`). */
  planWhy: "ci:plan:why",
  /** Every action the flake declares (`PlanActions`): what the bot's `/ci deploy` offers. */
  planActions: "ci:plan:actions",
  /** A part after the first of a pipeline over 500 jobs, uploaded by the part before it. */
  pipelinePart: (part: number) => `ci:plan:pipeline:${part}`,
  /** On a deploy build, set by its trigger step: the action it deploys, and that it is one. */
  deployAction: "ci:deploy-action",
  deployBuild: "denbeighDeploy"
} as const

/** The value of `ci:plan:actions`: the action names, as JSON. */
export const PlanActions = Schema.fromJsonString(Schema.Array(Schema.String))
