import { Context, Effect, Layer, Result, Schema } from "effect"
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs"
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

/** A store derivation is a small file; a flake can name any path as one. */
const maxDerivationBytes = 64 * 1024 * 1024

/**
 * The text of a `.drv` file. Opened without blocking and checked to be a regular file of a
 * derivation's size first: a flake's fake derivation could name a FIFO or a device.
 */
const readDerivationFile = (path: string): string => {
  const descriptor = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stats = fstatSync(descriptor)
    if (!stats.isFile()) throw new Error("not a regular file")
    if (stats.size > maxDerivationBytes) throw new Error(`larger than ${maxDerivationBytes} bytes`)
    return readFileSync(descriptor, "utf8")
  } finally {
    closeSync(descriptor)
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
  static readonly layer = Layer.sync(Derivations, () => {
    // A store path's contents never change: each file is read once by the layer's users (a
    // plan's shards and its why read the same ones), while the layer lasts.
    const known = new Map<string, Derivation>()

    // Read at once, not through effect's FileSystem: a .drv is a few kilobytes, and an
    // asynchronous read is four trips through libuv's thread pool (open, stat, read, close),
    // which made the files a plan reads a third of its time after the evaluations.
    const readFile = (drvPath: string): Result.Result<Derivation, DerivationUnreadable> => {
      if (!drvPath.startsWith("/") || !drvPath.endsWith(".drv")) {
        return Result.fail(new DerivationUnreadable({ drvPath, detail: "not a store derivation's path" }))
      }
      let text: string
      try {
        text = readDerivationFile(drvPath)
      } catch (error) {
        return Result.fail(new DerivationUnreadable({ drvPath, detail: error instanceof Error ? error.message : String(error) }))
      }
      return Result.mapError(parseDerivation(text), (detail) => new DerivationUnreadable({ drvPath, detail }))
    }

    const read = (drvPath: string): Effect.Effect<Derivation, DerivationUnreadable> =>
      Effect.suspend(() => {
        const cached = known.get(drvPath)
        if (cached !== undefined) return Effect.succeed(cached)
        const result = readFile(drvPath)
        if (Result.isSuccess(result)) known.set(drvPath, result.success)
        return Effect.fromResult(result)
      })

    const explain = Effect.fn("Derivations.explain")(function*(requests: ReadonlyArray<WhyRequest>, options: Partial<WhyOptions> = {}) {
      return yield* explainChanges(read, requests, { ...defaultWhyOptions, ...options }, (error) => error.message)
    })

    return Derivations.of({ read, explain })
  })
}
