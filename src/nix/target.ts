import { Schema } from "effect"
import type { FlakeInstallable } from "../domain/installable.ts"

/**
 * What an installable is, as `nix run` and `nix build` would take it: a derivation,
 * an app, or why it is neither. `Nix.resolve` has nix/targets.nix describe each one
 * (`Described`); `toTarget` reads the description.
 */

/** What an installable turned out to be, or why it could not be evaluated. */
export type Target =
  | {
    readonly _tag: "Derivation"
    readonly installable: string
    readonly drvPath: string
    readonly name: string
    readonly outputs: Readonly<Record<string, string>>
    /** What `nix run` would start: `meta.mainProgram`, else the package's name, in `bin/`. */
    readonly program: string
  }
  | {
    readonly _tag: "App"
    readonly installable: string
    readonly program: string
    /** The derivations the program's path depends on: building them realises it. */
    readonly derivations: ReadonlyArray<string>
    /** The program's store path, the output that must be valid. */
    readonly outputs: Readonly<Record<string, string>>
  }
  | { readonly _tag: "Unresolved"; readonly installable: string; readonly reason: string }

/** What nix/targets.nix says of each installable it is given. */
export const Described = Schema.Union([
  Schema.Struct({
    kind: Schema.Literal("derivation"),
    drvPath: Schema.String,
    name: Schema.String,
    outputs: Schema.Record(Schema.String, Schema.String),
    mainProgram: Schema.String
  }),
  Schema.Struct({ kind: Schema.Literal("app"), program: Schema.String, derivations: Schema.Array(Schema.String) }),
  Schema.Struct({ kind: Schema.Literal("other"), type: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("missing") }),
  Schema.Struct({ kind: Schema.Literal("throws") })
])
export type Described = typeof Described.Type
export const DescribedFromJson = Schema.fromJsonString(Schema.Array(Described))

const storePathOf = (path: string): string => /^\/nix\/store\/[^/]+/.exec(path)?.[0] ?? path

export const toTarget = (installable: FlakeInstallable, described: Described): Target => {
  switch (described.kind) {
    case "derivation":
      return {
        _tag: "Derivation",
        installable: installable.text,
        drvPath: described.drvPath,
        name: described.name,
        outputs: described.outputs,
        program: `${described.outputs.out ?? Object.values(described.outputs)[0]}/bin/${described.mainProgram}`
      }
    case "app":
      return {
        _tag: "App",
        installable: installable.text,
        program: described.program,
        derivations: described.derivations,
        outputs: { out: storePathOf(described.program) }
      }
    case "missing":
      return { _tag: "Unresolved", installable: installable.text, reason: "the flake has no such attribute" }
    case "throws":
      return { _tag: "Unresolved", installable: installable.text, reason: "evaluating it threw an error" }
    case "other":
      return { _tag: "Unresolved", installable: installable.text, reason: `it is a ${described.type}, not a derivation or an app` }
  }
}

/** The derivations whose outputs realise a target. */
export const derivationsOf = (target: Exclude<Target, { _tag: "Unresolved" }>): ReadonlyArray<string> =>
  target._tag === "Derivation" ? [target.drvPath] : target.derivations
