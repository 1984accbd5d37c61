import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { flakeInputChanges, type LockedInput, lockedInputs, sourceStorePath } from "../../src/nix/flakeLock.ts"

// A git input's narHash and the store path Nix 2.8 fetched it to (`nix eval --raw .#p` of `p = dep.outPath`).
const narHash = "sha256-ZC9jnmoT/hJWt2mz/0FE9wqQ0718VSOdPlkpQKJXNLg="
const fetchedTo = "/nix/store/57pmlkh2njpgdr5bgbbsxxiwdh5dp5w7-source"

const lock = (nodes: Record<string, unknown>) =>
  JSON.stringify({ nodes: { root: { inputs: Object.fromEntries(Object.keys(nodes).map((name) => [name, name])) }, ...nodes }, root: "root", version: 7 })
const gitNode = (rev: string, hash: string) => ({ flake: false, locked: { narHash: hash, rev, type: "git", url: "file:///dep" }, original: { type: "git", url: "file:///dep" } })

describe("sourceStorePath", () => {
  it("is where Nix puts a locked input", () => {
    assert.strictEqual(sourceStorePath("/nix/store", narHash), fetchedTo)
  })

  it("depends on the store directory, and needs a SHA-256 hash", () => {
    assert.notStrictEqual(sourceStorePath("/other/store", narHash), fetchedTo.replace("/nix/store", "/other/store"))
    assert.isUndefined(sourceStorePath("/nix/store", "sha512-AAAA"))
    assert.isUndefined(sourceStorePath("/nix/store", "sha256-AAAA"))
  })
})

describe("lockedInputs and flakeInputChanges", () => {
  it("reads every locked node but the root", () => {
    const inputs = lockedInputs(lock({ dep: gitNode("a".repeat(40), narHash) }), "/nix/store")
    assert.deepStrictEqual(Option.map(inputs, (map) => [...map]), Option.some([["dep", { rev: "a".repeat(40), storePath: fetchedTo } as LockedInput] as [string, LockedInput]]))
    assert.isTrue(Option.isNone(lockedInputs("not json", "/nix/store")))
  })

  it("lists the inputs whose source changed, added or removed", () => {
    const other = "sha256-yXuCH67hV7s9o7EXq/6DK6MsX8VzaDhEzmthiPJMVwM="
    const base = lock({ dep: gitNode("a".repeat(40), narHash), same: gitNode("c".repeat(40), narHash), gone: gitNode("d".repeat(40), narHash) })
    const head = lock({ dep: gitNode("b".repeat(40), other), same: gitNode("c".repeat(40), narHash), fresh: gitNode("e".repeat(40), other) })
    const changes = flakeInputChanges(base, head, "/nix/store")
    assert.deepStrictEqual(changes.map((change) => [change.name, change.base?.rev ?? null, change.head?.rev ?? null]), [
      ["dep", "a".repeat(40), "b".repeat(40)],
      ["fresh", null, "e".repeat(40)],
      ["gone", "d".repeat(40), null]
    ])
    assert.strictEqual(changes[0]!.base!.storePath, fetchedTo)
    // A commit without a lock file (or an unreadable one) has no inputs.
    assert.deepStrictEqual(flakeInputChanges(undefined, undefined, "/nix/store"), [])
    assert.deepStrictEqual(flakeInputChanges(base, base, "/nix/store"), [])
  })
})
