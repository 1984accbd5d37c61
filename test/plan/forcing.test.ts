import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { forceRequests, resolveForced } from "../../src/plan/forcing.ts"

describe("forceRequests", () => {
  it("reads CI_ACTIONS, then each commit's directives, naming where each came from", () => {
    const requests = forceRequests(" deployBot, docs ", [
      { sha: "a".repeat(40), message: "fix\n\n[ci deploy deployBot] and [ci deploy  all ]" },
      { sha: "b".repeat(40), message: "no directive; [ci skip] and [ci deploys x] are not ones" },
      { sha: "c".repeat(40), message: "[ci deploy a,b]" }
    ])
    assert.deepStrictEqual(requests, [
      { by: "CI_ACTIONS", names: ["deployBot", "docs"] },
      { by: "commit aaaaaaaaaaaa", names: ["deployBot", "all"] },
      { by: "commit cccccccccccc", names: ["a", "b"] }
    ])
  })

  it("reads nothing from an empty variable or a directive naming nothing", () => {
    assert.deepStrictEqual(forceRequests(" , ", [{ sha: "d".repeat(40), message: "[ci deploy ]" }]), [])
  })
})

describe("resolveForced", () => {
  const actions = ["deployBot", "docs", "nightly"]

  it("keeps the first request that forced each action", () => {
    const forced = Result.getOrThrow(resolveForced([
      { by: "CI_ACTIONS", names: ["docs"] },
      { by: "commit aaaaaaaaaaaa", names: ["all"] }
    ], actions))
    assert.deepStrictEqual([...forced], [["docs", "CI_ACTIONS"], ["deployBot", "commit aaaaaaaaaaaa"], ["nightly", "commit aaaaaaaaaaaa"]])
  })

  it("refuses an unknown name at its place, escaping what a terminal would hide", () => {
    const error = Result.getOrThrow(Result.flip(resolveForced([{ by: "CI_ACTIONS", names: ["deploy\u202eBot"] }], actions)))
    assert.strictEqual(error.message, `CI_ACTIONS: "deploy\\u202eBot" is not an action; did you mean "deployBot"? (names: deployBot, docs, nightly, or all)`)
  })

  it("says so when the flake declares no actions", () => {
    const error = Result.getOrThrow(Result.flip(resolveForced([{ by: "commit aaaaaaaaaaaa", names: ["x"] }], [])))
    assert.strictEqual(error.message, `commit aaaaaaaaaaaa: "x" is not an action (the flake declares none) (names: none, or all)`)
  })
})
