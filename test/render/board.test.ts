import { assert, describe, it } from "@effect/vitest"
import { boardLines, rowLine, runTally } from "../../src/render/board.ts"

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
})
