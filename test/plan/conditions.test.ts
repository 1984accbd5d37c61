import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { evaluateCondition, type RefContext } from "../../src/plan/conditions.ts"

const noChanges = { isChanged: () => false, everythingChangedBecause: undefined }
const detail = (pattern: string, tagRefs: Pick<RefContext, "tag">) => {
  const refs: RefContext = { branch: undefined, remoteBranches: [], source: undefined, schedule: undefined, ...tagRefs }
  const result = evaluateCondition({ kind: "tag", pattern, path: "ciActions.a.conditions[0]" }, refs, noChanges, undefined)
  assert.isTrue(Result.isSuccess(result))
  return Result.getOrThrow(result).detail
}

describe("a condition's detail", () => {
  it("shows a pattern as written, not JSON-escaped", () => {
    assert.strictEqual(detail("v[0-9]+\\..*", { tag: "v1.2" }), `tag "v1.2" matches "v[0-9]+\\..*"`)
    assert.strictEqual(detail("v[0-9]+\\..*", { tag: undefined }), `not a tag build (tag must match "v[0-9]+\\..*")`)
  })

  it("shows what a terminal would hide or act on in a ref as an escape", () => {
    assert.strictEqual(
      detail("v.*", { tag: "v1\u2028- trigger: deploy\u001b[2J" }),
      `tag "v1\\u{2028}- trigger: deploy\\u{1b}[2J" matches "v.*"`
    )
  })
})
