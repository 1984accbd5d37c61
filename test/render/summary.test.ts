import { assert, describe, it } from "@effect/vitest"
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
})

describe("formatDuration", () => {
  it.each([[0, "0 ms"], [999, "999 ms"], [1500, "1.5 s"], [61_000, "1 min 1 s"], [null, ""]] as const)("%j is %j", (ms, text) => {
    assert.strictEqual(formatDuration(ms), text)
  })
})

describe("deploySummary", () => {
  it("times a deploy from its first attempt's start to its last one's end, the waits between included", () => {
    const attempt = (startedAt: string, exitCode: number) =>
      ({ startedAt, durationMs: 1000, exitCode, signal: null, error: null, outputTail: [], outputTruncated: 0 }) as const
    const summary = deploySummary({
      version: 1,
      kind: "deploy",
      name: "staging",
      target: ".#apps.x86_64-linux.deploy",
      status: "passed",
      attempts: [attempt("2026-11-21T10:00:00.000Z", 1), attempt("2026-11-21T10:00:09.000Z", 0)]
    })
    assert.strictEqual(summary.text.split("\n")[0], "🚀 Deploy staging succeeded after 2 attempts in 10.0 s")
  })
})
