import { assert, describe, it } from "@effect/vitest"
import { metaDataLimitBytes } from "../../src/domain/metaData.ts"
import { metaDataValue } from "../../src/effects/BuildkiteAgent.ts"

describe("metaDataValue", () => {
  it("never sends an empty value, which the agent rejects", () => {
    assert.strictEqual(metaDataValue(""), "(empty)")
    assert.strictEqual(metaDataValue("  \n"), "(empty)")
  })

  it("cuts a value over 100 KB on a character boundary, with a marker", () => {
    const value = "é".repeat(80_000)
    const sent = metaDataValue(value)
    assert.isAtMost(Buffer.byteLength(sent), metaDataLimitBytes)
    assert.match(sent, /\n…\[cut: 60000 bytes over Buildkite's 100 KB meta-data limit\]$/)
    assert.notInclude(sent, "\uFFFD")
  })

  it("leaves a value within the limit alone", () => {
    assert.strictEqual(metaDataValue("x".repeat(metaDataLimitBytes)), "x".repeat(metaDataLimitBytes))
  })
})
