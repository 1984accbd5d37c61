import { assert, describe, it } from "@effect/vitest"
import { type Shard, splitBuilds, type ShardTarget } from "../../src/plan/shards.ts"

const drv = (name: string) => `/nix/store/${name.padEnd(32, "0").slice(0, 32)}-${name}.drv`

/** A graph given as `name: [inputs]`, every node a derivation to build. */
const graph = (edges: Readonly<Record<string, ReadonlyArray<string>>>): Map<string, ReadonlyArray<string>> =>
  new Map(Object.entries(edges).map(([name, inputs]) => [drv(name), inputs.map(drv)]))

const target = (name: string): ShardTarget => ({ key: `packages.x86_64-linux.${name}`, drvPaths: [drv(name)] })

const names = (shards: ReadonlyArray<Shard>) => shards.map((shard) => shard.targets.map((key) => key.split(".").at(-1)))

/** `groups` independent chains of `size` derivations, each chain's top a target. */
const chains = (groups: number, size: number) => {
  const edges: Record<string, ReadonlyArray<string>> = {}
  const targets: Array<ShardTarget> = []
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < size; i++) edges[`c${g}n${i}`] = i === 0 ? [] : [`c${g}n${i - 1}`]
    targets.push(target(`c${g}n${size - 1}`))
  }
  return { edges: graph(edges), targets }
}

describe("splitBuilds", () => {
  it("keeps a build set within the limit whole", () => {
    const { edges, targets } = chains(4, 5)
    const shards = splitBuilds(targets, edges, 20)
    assert.strictEqual(shards.length, 1)
    assert.strictEqual(shards[0]!.derivations.length, 20)
    assert.isFalse(shards[0]!.oversized)
    assert.deepStrictEqual(splitBuilds([], new Map(), 20), [])
  })

  it("balances independent sets by count, each whole, in the flake's order", () => {
    // Sets of 30, 10, 20, 25, 15 derivations, limit 50: 100 in all, two shards at least. Two
    // would hold 30 + 15 + 10 and 25 + 20, so three: 30 | 25 + 10 | 20 + 15.
    const sizes = [30, 10, 20, 25, 15]
    const edges: Record<string, ReadonlyArray<string>> = {}
    const targets = sizes.map((size, g) => {
      for (let i = 0; i < size; i++) edges[`s${g}n${i}`] = i === 0 ? [] : [`s${g}n${i - 1}`]
      return target(`s${g}n${size - 1}`)
    })
    const shards = splitBuilds(targets, graph(edges), 50)
    assert.deepStrictEqual(shards.map((shard) => shard.derivations.length), [30, 35, 35])
    assert.deepStrictEqual(names(shards), [["s0n29"], ["s1n9", "s3n24"], ["s2n19", "s4n14"]])
    assert.isFalse(shards.some((shard) => shard.oversized))
    // The same input, the same shards.
    assert.deepStrictEqual(splitBuilds([...targets], graph(edges), 50), shards)
  })

  it("keeps targets sharing a derivation to build together, even through one no target names", () => {
    const edges = graph({ shared: [], a: ["mid"], mid: ["shared"], b: ["shared"], c: [], d: ["c"] })
    const shards = splitBuilds(["a", "b", "c", "d"].map(target), edges, 2)
    assert.deepStrictEqual(names(shards), [["a", "b"], ["c", "d"]])
    assert.deepStrictEqual(shards[0]!.derivations, ["a", "b", "mid", "shared"].map(drv).sort())
    // Over the limit, as one connected set: said, not split.
    assert.deepStrictEqual(shards.map((shard) => shard.oversized), [true, false])
  })

  it("does not join targets through a derivation already built", () => {
    // `shared` is in the store (not to build): a and b build nothing in common.
    const edges = new Map([[drv("a"), [drv("shared")]], [drv("b"), [drv("shared")]], [drv("c"), []]])
    const shards = splitBuilds(["a", "b", "c"].map(target), edges, 2)
    assert.strictEqual(shards.length, 2)
    assert.deepStrictEqual(shards.flatMap((shard) => shard.targets).sort(), ["a", "b", "c"].map((name) => target(name).key))
  })

  it("keeps a target that depends on another target with it", () => {
    const edges = graph({ lib: [], app: ["lib"], other: [] })
    const shards = splitBuilds(["app", "other", "lib"].map(target), edges, 1)
    assert.deepStrictEqual(names(shards), [["app", "lib"], ["other"]])
  })

  it("gives every derivation to build one shard, however large", () => {
    const { edges, targets } = chains(600, 3)
    const shards = splitBuilds(targets, edges, 200)
    // Nine shards would take 67 sets (201 derivations) each in places: ten of 180.
    assert.deepStrictEqual(shards.map((shard) => shard.derivations.length), Array(10).fill(180))
    const all = shards.flatMap((shard) => shard.derivations)
    assert.strictEqual(all.length, 1800)
    assert.strictEqual(new Set(all).size, 1800)
    for (const shard of shards) assert.isAtMost(shard.derivations.length, 200)
  })

  it("puts targets with nothing to build, or no derivation, in some shard", () => {
    const edges = graph({ a: [], b: [] })
    const shards = splitBuilds([target("a"), target("b"), { key: "broken", drvPaths: [] }, target("built")], edges, 1)
    assert.deepStrictEqual(shards.flatMap((shard) => shard.targets).sort(), [target("a").key, target("b").key, "broken", target("built").key].sort())
    assert.deepStrictEqual(shards.map((shard) => shard.derivations.length), [1, 1])
  })
})
