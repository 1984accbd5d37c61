import { Context, Effect, FileSystem, Layer, Result, Schema } from "effect"
import { defaultWhyOptions, explainChanges, type OutputWhy, type WhyOptions, type WhyRequest } from "../plan/why.ts"
import { type Derivation, parseDerivation } from "./derivation.ts"

/**
 * Store derivations, read from the `.drv` files evaluation wrote: one small read
 * each, against a Nix process for each level of the walk with `nix derivation show`
 * (whose JSON also changed shape across versions). See bench/why.ts for the figures.
 */

export class DerivationUnreadable extends Schema.TaggedError<DerivationUnreadable>()("DerivationUnreadable", {
  drvPath: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cannot read the derivation ${this.drvPath}: ${this.detail}`
  }
}

export class Derivations extends Context.Service<Derivations, {
  read(drvPath: string): Effect.Effect<Derivation, DerivationUnreadable>
  /**
   * Why each output changed between its base and head derivations (`src/plan/why.ts`).
   * Never fails: what cannot be read is said in the output's `error`, or as an
   * input left `unreadable`.
   */
  explain(requests: ReadonlyArray<WhyRequest>, options?: Partial<WhyOptions>): Effect.Effect<ReadonlyArray<OutputWhy>>
}>()("ci/nix/Derivations") {
  static readonly layer = Layer.effect(
    Derivations,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem

      const read = Effect.fn("Derivations.read")(function*(drvPath: string) {
        if (!drvPath.startsWith("/") || !drvPath.endsWith(".drv")) {
          return yield* new DerivationUnreadable({ drvPath, detail: "not a store derivation's path" })
        }
        const text = yield* fs.readFileString(drvPath).pipe(
          Effect.mapError((error) => new DerivationUnreadable({ drvPath, detail: error.message }))
        )
        const parsed = parseDerivation(text)
        return Result.isSuccess(parsed) ? parsed.success : yield* new DerivationUnreadable({ drvPath, detail: parsed.failure })
      })

      const explain = Effect.fn("Derivations.explain")(function*(requests: ReadonlyArray<WhyRequest>, options: Partial<WhyOptions> = {}) {
        // Outputs share inputs: each file is read once per call.
        const cache = new Map<string, Derivation>()
        const cachedRead = (drvPath: string) => {
          const known = cache.get(drvPath)
          return known !== undefined ? Effect.succeed(known) : Effect.tap(read(drvPath), (derivation) => Effect.sync(() => cache.set(drvPath, derivation)))
        }
        return yield* explainChanges(cachedRead, requests, { ...defaultWhyOptions, ...options }, (error) => error.message)
      })

      return Derivations.of({ read, explain })
    })
  )
}
