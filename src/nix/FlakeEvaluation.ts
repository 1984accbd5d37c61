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

/**
 * An action's schemas for targets of one kind: what ci-actions.nix describes (`TargetDescription`)
 * or what the tool resolves that to, an output's attribute path (`AttrPath`).
 */
const actionSchemas = <Target extends Schema.Top>(target: Target) => {
  const Condition = Schema.Union([
    Schema.Struct({ kind: Schema.Literal("branch"), pattern: Schema.String, ...Located }),
    Schema.Struct({ kind: Schema.Literals(["tag", "source", "schedule"]), pattern: Schema.String, ...Located }),
    Schema.Struct({ kind: Schema.Literal("changed"), targets: Schema.Array(target), ...Located })
  ])
  const Check = Schema.Struct({ name: Schema.String, displayName: Schema.String, target, ...Located })
  const RunStep = Schema.Struct({
    type: Schema.Literal("run"),
    name: Schema.String,
    label: Schema.String,
    target,
    retries: Schema.Int,
    ...Located
  })
  const WaitStep = Schema.Struct({ type: Schema.Literal("wait"), ...Located })
  const BlockStep = Schema.Struct({
    type: Schema.Literal("block"),
    label: Schema.NullOr(Schema.String),
    prompt: Schema.NullOr(Schema.String),
    ...Located
  })
  const DeployStep = Schema.Union([RunStep, WaitStep, BlockStep])
  const Action = Schema.Struct({
    conditions: Schema.Array(Condition),
    checks: Schema.Array(Check),
    builds: Schema.Array(target),
    deploySteps: Schema.Array(DeployStep),
    /**
     * The system its deploy runs on; null for the planning agent's. ci-actions.nix always
     * emits it; optional so that evaluations made by hand may omit it.
     */
    deploySystem: Schema.optionalKey(Schema.NullOr(Schema.String)),
    ...Located
  })
  return { Condition, Check, RunStep, DeployStep, Action }
}

const resolved = actionSchemas(AttrPath)

export const Condition = resolved.Condition
export type Condition = typeof Condition.Type
export const Check = resolved.Check
export type Check = typeof Check.Type
export const RunStep = resolved.RunStep
export const DeployStep = resolved.DeployStep
export type DeployStep = typeof DeployStep.Type
export const Action = resolved.Action
export type Action = typeof Action.Type

const evaluationOf = <A extends Schema.Top>(action: A) =>
  Schema.Struct({
    version: Schema.Literal(1),
    system: Schema.String,
    /** Every system CI covers (mkActions' `systems`); each gets a build step. */
    systems: Schema.optionalKey(Schema.Array(Schema.String)),
    hasCiActions: Schema.Boolean,
    outputs: Schema.Array(Output),
    actions: Schema.NullOr(Schema.Record(Schema.String, action))
  })

export const FlakeEvaluation = evaluationOf(Action)
export type FlakeEvaluation = typeof FlakeEvaluation.Type

/**
 * A target as ci-actions.nix describes it, with the place that names it: a derivation by its
 * output path and names, an app by its program.
 */
export const TargetDescription = Schema.Union([
  Schema.Struct({ program: Schema.String, ...Located }),
  Schema.Struct({ storePath: Schema.String, name: Schema.NullOr(Schema.String), pname: Schema.NullOr(Schema.String), ...Located })
])
export type TargetDescription = typeof TargetDescription.Type

const described = actionSchemas(TargetDescription)
export type DescribedAction = typeof described.Action.Type

/** One worker's evaluation as ci-actions.nix prints it: its share of the outputs, the targets described. */
export const WorkerEvaluation = evaluationOf(described.Action)
export type WorkerEvaluation = typeof WorkerEvaluation.Type
export const WorkerEvaluationFromJson = Schema.fromJsonString(WorkerEvaluation)

