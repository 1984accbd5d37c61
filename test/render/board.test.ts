import { assert, describe, it } from "@effect/vitest"
import { boardLines, displayWidth, fitLine, rowLine, runTally } from "../../src/render/board.ts"

describe("the board of tool run", () => {
  it("shows a running row's time so far, a finished row's own, and a failure's log tail", () => {
    assert.strictEqual(rowLine({ key: "a", label: "check lint", state: "running", startedAt: 1000 }, 3500, false), "▸ check lint 2.5 s")
    assert.deepStrictEqual(
      boardLines([
        { key: "a", label: "check lint", state: "passed", durationMs: 1200 },
        { key: "b", label: "check style", state: "failed", durationMs: 10, detail: "exit code 3", tail: ["one", "two"] },
        { key: "c", label: "build", state: "waiting" }
      ], 0, false),
      ["✓ check lint 1.2 s", "✗ check style 10 ms  exit code 3", "    one", "    two", "· build"]
    )
  })

  it("colours only the mark, and only when asked", () => {
    assert.strictEqual(rowLine({ key: "a", label: "build", state: "failed", durationMs: 5 }, 0, true), "\x1b[31m✗\x1b[0m build \x1b[2m5 ms\x1b[0m")
  })

  it("tallies what passed, failed and was skipped", () => {
    const rows = [
      { key: "a", label: "a", state: "passed" as const },
      { key: "b", label: "b", state: "skipped" as const }
    ]
    assert.strictEqual(runTally(rows, 61_000), "1 passed, 0 failed, 1 skipped in 1 min 1 s")
  })

  it("cuts a line wider than the terminal with …, measured in the columns a terminal gives it", () => {
    assert.strictEqual(fitLine("✓ check lint 1.2 s", 18), "✓ check lint 1.2 s")
    assert.strictEqual(fitLine("✓ check lint 1.2 s", 10), "✓ check l…")
    // Wide characters take two columns, combining marks none; a wide one that would straddle the edge goes.
    assert.strictEqual(displayWidth("日本語"), 6)
    assert.strictEqual(displayWidth("e\u0301"), 1)
    assert.strictEqual(displayWidth("🚀"), 2)
    assert.strictEqual(fitLine("· deploy 日本語です", 12), "· deploy 日…")
    assert.strictEqual(displayWidth(fitLine("· deploy 日本語です", 12)), 12)
    assert.strictEqual(fitLine("· cafe\u0301 au lait", 8), "· cafe\u0301 …")
    // Colours take no room, and one left open by the cut is closed.
    assert.strictEqual(fitLine("\x1b[31m✗\x1b[0m build \x1b[2m5 ms\x1b[0m", 9), "\x1b[31m✗\x1b[0m build \x1b[2m…\x1b[0m")
    assert.strictEqual(fitLine("\x1b[31m✗\x1b[0m build \x1b[2m5 ms\x1b[0m", 12), "\x1b[31m✗\x1b[0m build \x1b[2m5 ms\x1b[0m")
  })

  it("takes out what would move the cursor: a log's own escapes and controls; a tab is a space", () => {
    assert.strictEqual(fitLine("    a\tb\rc\x1b[2Ad\x1b]0;title\x07e\x1b[1mf", 80), "    a bcde\x1b[1mf")
  })

  it("cuts every line of the board to the width given", () => {
    const lines = boardLines([
      { key: "a", label: "check a-very-long-check-name-indeed", state: "failed", durationMs: 10, tail: ["a log line longer than the terminal is wide"] }
    ], 0, true, 20)
    assert.deepStrictEqual(lines.map((line) => displayWidth(line.replace(/\x1b\[[0-9;]*m/g, ""))), [20, 20])
    assert.isTrue(lines.every((line) => line.replace(/\x1b\[[0-9;]*m/g, "").endsWith("…")))
  })
})
