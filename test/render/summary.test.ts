import { assert, describe, it } from "@effect/vitest"
import type { DerivationResult } from "../../src/render/results.ts"
import { buildSummary, formatDuration } from "../../src/render/summary.ts"

const result = (overrides: Partial<DerivationResult>): DerivationResult => ({
  version: 1,
  kind: "build",
  target: "packages.x86_64-linux.bot",
  installable: ".#packages.x86_64-linux.bot",
  name: "bot",
  drvPath: "/nix/store/00000000000000000000000000000000-bot.drv",
  outputs: {},
  status: "built",
  durationMs: 1500,
  exitCode: null,
  signal: null,
  error: null,
  failedDependencies: [],
  logTail: [],
  logTruncated: 0,
  logCommand: null,
  ...overrides
})

describe("buildSummary", () => {
  it("keeps names and log lines from breaking the Markdown", () => {
    const summary = buildSummary([
      result({ target: 'checks.x86_64-linux."a|b"', status: "failed", exitCode: 1, error: "<script>", logTail: ["```", "</details> oops"], logTruncated: 3 })
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
