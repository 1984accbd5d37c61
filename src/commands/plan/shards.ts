import { Effect } from "effect"
import { showAttrPath } from "../../domain/installable.ts"
import { Derivations } from "../../nix/Derivations.ts"
import type { Output } from "../../nix/FlakeEvaluation.ts"
import { Nix } from "../../nix/Nix.ts"
import type { PlannedBuild } from "../../plan/Plan.ts"
import { type Shard, splitBuilds } from "../../plan/shards.ts"

/**
 * Each system's build set, when it holds more derivations to build than the shard
 * size, split into shards (`splitBuilds`): what Nix would build (`nix build --dry-run`,
 * so what a cache holds counts as built) and, for each of those, its inputs read from
 * its `.drv` file. Nothing here fails the plan: a system whose split cannot be worked
 * out is built in one step, with a warning.
 */

export interface SystemBuildSet {
  readonly system: string
  readonly builds: ReadonlyArray<PlannedBuild>
  /** The system's evaluated outputs: each build's store derivation. */
  readonly outputs: ReadonlyArray<Output>
}

export const shardBuilds = Effect.fnUntraced(function*(systems: ReadonlyArray<SystemBuildSet>, limit: number) {
  const nix = yield* Nix
  const derivations = yield* Derivations
  const warnings: Array<string> = []
  const split = yield* Effect.forEach(systems, ({ system, builds, outputs }) => {
    // One target cannot be split: no need to ask Nix.
    if (builds.length < 2) return Effect.succeed([])
    const drvPaths = new Map(outputs.map((output) => [showAttrPath(output.attrPath), output.drvPath ?? null]))
    const targets = builds.map((build) => {
      const drvPath = drvPaths.get(showAttrPath(build.attrPath)) ?? null
      return { key: showAttrPath(build.attrPath), drvPaths: drvPath === null ? [] : [drvPath] }
    })
    const inputs = new Map<string, ReadonlyArray<string>>()
    const inputsOf = (drvPaths: Iterable<string>) =>
      Effect.forEach(
        [...drvPaths].filter((drvPath) => !inputs.has(drvPath)),
        (drvPath) => Effect.map(derivations.read(drvPath), (derivation) => void inputs.set(drvPath, Object.keys(derivation.inputDrvs))),
        { concurrency: 16, discard: true }
      )
    return Effect.gen(function*() {
      const roots = [...new Set(targets.flatMap((target) => target.drvPaths))]
      // A closure of at most `limit` derivations cannot need more built: the files say so
      // (a read is far cheaper than a Nix process), without asking Nix what it would build.
      for (let level: ReadonlyArray<string> = roots, seen = new Set(roots); level.length > 0 && seen.size <= limit;) {
        yield* inputsOf(level)
        level = [...new Set(level.flatMap((drvPath) => inputs.get(drvPath)!))].filter((drvPath) => !seen.has(drvPath))
        for (const drvPath of level) seen.add(drvPath)
        if (level.length === 0) return []
      }
      const toBuild = yield* nix.toBuild(roots)
      if (toBuild.size <= limit) return []
      yield* inputsOf(toBuild)
      const graph = new Map([...toBuild].map((drvPath) => [drvPath, inputs.get(drvPath)!] as const))
      const shards = splitBuilds(targets, graph, limit)
      const oversized = shards.filter((shard) => shard.oversized).map((shard) => shard.derivations.length)
      if (oversized.length > 0) {
        warnings.push(
          `${oversized.length === 1 ? "a set" : `${oversized.length} sets`} of derivations for ${JSON.stringify(system)} bound together by their dependencies ${
            oversized.length === 1 ? "is" : "are"
          } larger than CI_BUILD_SHARD_SIZE (${limit}), and built whole, each in one step: ${oversized.join(", ")} derivations`
        )
      }
      return [[system, shards] as const]
    }).pipe(
      Effect.catch((error) =>
        Effect.sync(() => {
          warnings.push(`the builds for ${JSON.stringify(system)} are not split into shards, but built in one step: ${error.message}`)
          return []
        })
      )
    )
  }, { concurrency: 2 })
  return { shards: new Map<string, ReadonlyArray<Shard>>(split.flat()), warnings }
})
