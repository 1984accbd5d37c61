import { Schema } from "effect"
import { AttrPath } from "../domain/installable.ts"

/**
 * The data `nix/ci-actions.nix` emits for one flake and system. Decoded as is: a
 * change on either side that the other does not expect fails at this boundary.
 */

export const OutputKind = Schema.Literals(["packages", "checks", "devShells", "formatter", "apps"])
export type OutputKind = typeof OutputKind.Type

export const Output = Schema.Struct({
  attrPath: AttrPath,
  kind: OutputKind,
  /** The output path (for an app, the store path its program is in); null when it failed to evaluate. */
  storePath: Schema.NullOr(Schema.String),
  /**
   * The store derivation (for an app, the one behind its program); null when it failed to
   * evaluate. ci-actions.nix always emits it; optional so that evaluations made by hand may omit it.
   */
  drvPath: Schema.optionalKey(Schema.NullOr(Schema.String)),
  program: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** For an app: the derivation output that provides its program, when the flake exposes one. */
  derivation: Schema.optionalKey(Schema.NullOr(AttrPath)),
  /**
   * Why it failed to evaluate (storePath null): Nix's message and where in the flake. Added by
   * the tool (`Nix.evaluate`), which evaluates a failing output alone; ci-actions.nix cannot see it.
   */
  error: Schema.optionalKey(Schema.String)
})
export type Output = typeof Output.Type

const Located = { path: Schema.String }

export const Condition = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("branch"), pattern: Schema.String, ...Located }),
  Schema.Struct({ kind: Schema.Literals(["tag", "source", "schedule"]), pattern: Schema.String, ...Located }),
  Schema.Struct({ kind: Schema.Literal("changed"), targets: Schema.Array(AttrPath), ...Located })
])
export type Condition = typeof Condition.Type

export const Check = Schema.Struct({
  name: Schema.String,
  displayName: Schema.String,
  target: AttrPath,
  ...Located
})
export type Check = typeof Check.Type

export const RunStep = Schema.Struct({
  type: Schema.Literal("run"),
  name: Schema.String,
  label: Schema.String,
  target: AttrPath,
  retries: Schema.Int,
  ...Located
})
export const WaitStep = Schema.Struct({ type: Schema.Literal("wait"), ...Located })
export const BlockStep = Schema.Struct({
  type: Schema.Literal("block"),
  label: Schema.NullOr(Schema.String),
  prompt: Schema.NullOr(Schema.String),
  ...Located
})
export const DeployStep = Schema.Union([RunStep, WaitStep, BlockStep])
export type DeployStep = typeof DeployStep.Type

export const Action = Schema.Struct({
  conditions: Schema.Array(Condition),
  checks: Schema.Array(Check),
  builds: Schema.Array(AttrPath),
  deploySteps: Schema.Array(DeployStep),
  /**
   * The system its deploy runs on; null for the planning agent's. ci-actions.nix always
   * emits it; optional so that evaluations made by hand may omit it.
   */
  deploySystem: Schema.optionalKey(Schema.NullOr(Schema.String)),
  ...Located
})
export type Action = typeof Action.Type

export const FlakeEvaluation = Schema.Struct({
  version: Schema.Literal(1),
  system: Schema.String,
  /** Every system CI covers (mkActions' `systems`); each gets a build step. */
  systems: Schema.optionalKey(Schema.Array(Schema.String)),
  hasCiActions: Schema.Boolean,
  outputs: Schema.Array(Output),
  actions: Schema.NullOr(Schema.Record(Schema.String, Action))
})
export type FlakeEvaluation = typeof FlakeEvaluation.Type

export const FlakeEvaluationFromJson = Schema.fromJsonString(FlakeEvaluation)
