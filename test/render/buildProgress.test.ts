import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { readFileSync } from "node:fs"
import { BuildLog, parseLogLine } from "../../src/nix/buildLog.ts"
import { BuildProgressView, type ProgressMode } from "../../src/render/buildProgress.ts"
import { repoRoot } from "../support/paths.ts"

const replay = (mode: ProgressMode) => {
  const log = new BuildLog()
  const view = new BuildProgressView(mode)
  const lines: Array<string> = []
  const statuses: Array<string> = []
  readFileSync(`${repoRoot}test/fixtures/nix-build-keep-going.nix-2.8.jsonl`, "utf8").split("\n").forEach((line, i) => {
    const event = parseLogLine(line)
    if (Option.isNone(event)) return
    for (const change of log.apply(event.value, i * 10)) {
      const output = view.onChange(change, log)
      lines.push(...output.lines)
      if (output.status !== undefined) statuses.push(output.status)
    }
  })
  return { lines, statuses }
}

describe("BuildProgressView", () => {
  it("gives each derivation its log group in Buildkite, and expands a failed one", () => {
    const { lines } = replay("buildkite")
    assert.deepStrictEqual(lines.map((line) => line.replace(/ after \d+ ms/, "")), [
      "--- :nix: fail",
      "preparing 6",
      "error: the known failure line",
      "failed fail: builder for '/nix/store/hygm2qhq9wp10ji9z6zvlzdlkc8na8bm-fail.drv' failed with exit code 3",
      "^^^ +++",
      "--- :nix: ok",
      "building ok 6",
      "built ok",
      "--- :nix: slow",
      "built slow"
    ])
  })

  it("keeps one progress line on a terminal, with what is building", () => {
    const { statuses, lines } = replay("terminal")
    // Nix expected five, then two once the failure cut the others off: the total stays five.
    assert.include(statuses, "[0/5 built, 1 failed, 2 not started] building ok")
    assert.strictEqual(statuses.at(-1), "[2/5 built, 1 failed, 2 not started]")
    assert.deepStrictEqual(lines.slice(1), ["  preparing 6", "  error: the known failure line"])
  })

  it("prints a line per derivation where there is no terminal", () => {
    const { lines } = replay("plain")
    assert.deepStrictEqual(lines.map((line) => line.replace(/ after \d+ ms.*/, "")), [
      "failed fail",
      "  preparing 6",
      "  error: the known failure line",
      "built ok",
      "built slow"
    ])
  })
})

describe("BuildProgressView with remote builders", () => {
  // A build's activity names the machine Nix sent it to (`builders`); "" is this machine.
  const events = [
    { action: "start", id: 1, type: 105, text: "", fields: ["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-far.drv", "ssh-ng://builder@big-box", 1, 1] },
    { action: "result", id: 1, type: 101, fields: ["compiling far away"] },
    { action: "stop", id: 1 },
    { action: "start", id: 2, type: 105, text: "", fields: ["/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-near.drv", "", 1, 1] },
    { action: "stop", id: 2 }
  ] as const

  it("says which machine built what, in its group and when it ends", () => {
    const log = new BuildLog()
    const view = new BuildProgressView("buildkite")
    const lines = events.flatMap((event, i) => log.apply(event, i).flatMap((change) => view.onChange(change, log).lines))
    assert.deepStrictEqual(lines.map((line) => line.replace(/ after \d+ ms/, "")), [
      "--- :nix: far on ssh-ng://builder@big-box",
      "compiling far away",
      "built far on ssh-ng://builder@big-box",
      "--- :nix: near",
      "built near"
    ])
  })
})

describe("the progress line's total", () => {
  it("does not shrink as failures cut builds off", () => {
    const log = new BuildLog()
    const view = new BuildProgressView("terminal")
    const show = (progress: BuildLog["progress"]) => {
      log.progress = progress
      return view.onChange({ _tag: "Progress", progress }, log).status
    }
    assert.strictEqual(show({ done: 0, expected: 3, running: 1, failed: 0 }), "[0/3 built]")
    assert.strictEqual(show({ done: 0, expected: 0, running: 0, failed: 2 }), "[0/3 built, 2 failed, 1 not started]")
  })
})
