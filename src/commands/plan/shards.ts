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
    return Effect.gen(function*() {
      const toBuild = yield* nix.toBuild([...new Set(targets.flatMap((target) => target.drvPaths))])
      if (toBuild.size <= limit) return []
      const graph = new Map(yield* Effect.forEach(
        [...toBuild],
        (drvPath) => Effect.map(derivations.read(drvPath), (derivation) => [drvPath, Object.keys(derivation.inputDrvs)] as const),
        { concurrency: 16 }
      ))
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
