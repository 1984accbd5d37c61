import { assert, describe, it } from "@effect/vitest"
import type { Run } from "../../src/domain/results.ts"
import { buildSummary, deploySummary, formatDuration } from "../../src/render/summary.ts"
import { derivationResult } from "../support/results.ts"

describe("buildSummary", () => {
  it("keeps names and log lines from breaking the Markdown", () => {
    const summary = buildSummary([
      derivationResult({ target: 'checks.x86_64-linux."a|b"', status: "failed", exitCode: 1, error: "<script>", logTail: ["```", "</details> oops"], logTruncated: 3 })
    ], 2000)
    assert.include(summary.markdown, "| ❌ | `checks.x86_64-linux.\"a\\|b\"` | failed (exit code 1) |")
    assert.include(summary.markdown, "<summary>checks.x86_64-linux.\"a\\|b\": &lt;script></summary>")
    assert.include(summary.markdown, "````\n… 3 earlier lines\n```\n&lt;/details> oops\n````")
    assert.strictEqual(summary.style, "error")
  })

  it("says nothing to do when there was nothing", () => {
    assert.strictEqual(buildSummary([], 10).text, "✅ Build of 0 derivations in 10 ms: nothing to do")
  })

  it("gives a shard an annotation of its own, naming its part", () => {
    const whole = buildSummary([], 10)
    const shard = buildSummary([], 10, "system-1-shard-2")
    assert.strictEqual(whole.context, "ci-build")
    assert.strictEqual(shard.context, "ci-build-system-1-shard-2")
    assert.strictEqual(shard.text, "✅ Build of 0 derivations in 10 ms (part system-1-shard-2): nothing to do")
  })
})

describe("deploySummary", () => {
  const run = (startedAt: string, durationMs: number, exitCode: number): Run => ({
    startedAt,
    durationMs,
    exitCode,
    signal: null,
    error: null,
    outputTail: [],
    outputTruncated: 0
  })

  it("times a retried deploy from its first start to its last end, waits included", () => {
    const summary = deploySummary({
      version: 1,
      kind: "deploy",
      name: "production",
      target: ".#apps.x86_64-linux.deploy",
      status: "passed",
      attempts: [run("2026-11-21T10:00:00.000Z", 1000, 1), run("2026-11-21T10:00:10.000Z", 2000, 0)]
    })
    assert.strictEqual(summary.text.split("\n")[0], "🚀 Deploy production succeeded after 2 attempts in 12.0 s")
    assert.include(summary.text, "attempt 1: exit code 1 (1.0 s)")
  })
})

describe("formatDuration", () => {
  it.each([[0, "0 ms"], [999, "999 ms"], [1500, "1.5 s"], [61_000, "1 min 1 s"], [null, ""]] as const)("%j is %j", (ms, text) => {
    assert.strictEqual(formatDuration(ms), text)
  })
})
