import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { evaluateCondition, type RefContext } from "../../src/plan/conditions.ts"

const noChanges = { isChanged: () => false, everythingChangedBecause: undefined }
const detail = (pattern: string, refs: RefContext) => {
  const result = evaluateCondition({ kind: "tag", pattern, path: "ciActions.a.conditions[0]" }, refs, noChanges)
  assert.isTrue(Result.isSuccess(result))
  return Result.getOrThrow(result).detail
}

describe("a condition's detail", () => {
  it("shows a pattern as written, not JSON-escaped", () => {
    assert.strictEqual(detail("v[0-9]+\\..*", { branch: undefined, tag: "v1.2", remoteBranches: [] }), `tag "v1.2" matches "v[0-9]+\\..*"`)
    assert.strictEqual(detail("v[0-9]+\\..*", { branch: undefined, tag: undefined, remoteBranches: [] }), `not a tag build (tag must match "v[0-9]+\\..*")`)
  })

  it("shows what a terminal would hide or act on in a ref as an escape", () => {
    assert.strictEqual(
      detail("v.*", { branch: undefined, tag: "v1\u2028- trigger: deploy\u001b[2J", remoteBranches: [] }),
      `tag "v1\\u{2028}- trigger: deploy\\u{1b}[2J" matches "v.*"`
    )
  })
})
