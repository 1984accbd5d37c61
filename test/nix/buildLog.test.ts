import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { readFileSync } from "node:fs"
import { BuildLog, type LogChange, parseLogLine } from "../../src/nix/buildLog.ts"
import { repoRoot } from "../support/paths.ts"

const replay = (text: string) => {
  const log = new BuildLog()
  const changes: Array<LogChange> = []
  text.split("\n").forEach((line, i) => {
    const event = parseLogLine(line)
    if (Option.isSome(event)) changes.push(...log.apply(event.value, i))
  })
  return { log, changes }
}

const drv = (name: string, log: BuildLog) => [...log.builds.values()].find((build) => build.drvPath.endsWith(`-${name}.drv`))

describe("BuildLog on Nix 2.8's internal-json output", () => {
  // `nix build --keep-going` of ok, fail, dependent (on fail), slow and an already built package.
  const { log, changes } = replay(readFileSync(`${repoRoot}test/fixtures/nix-build-keep-going.nix-2.8.jsonl`, "utf8"))

  it("records the builder's failure, exit code and log", () => {
    const fail = drv("fail", log)!
    assert.strictEqual(fail.failure?.exitCode, 3)
    assert.match(fail.failure!.message, /^builder for '\/nix\/store\/[0-9a-z]{32}-fail\.drv' failed with exit code 3$/)
    assert.deepStrictEqual(fail.lines, ["preparing 6", "error: the known failure line"])
  })

  it("records which derivation a failed dependency stopped", () => {
    assert.deepStrictEqual([...log.dependencyFailures.entries()].map(([path, count]) => [path.replace(/^.*-/, ""), count]), [["dependent.drv", 1]])
  })

  it("ends each successful build when Nix counts it done, not when its activity stops at the very end", () => {
    const ok = drv("ok", log)!
    const slow = drv("slow", log)!
    assert.isUndefined(ok.failure)
    assert.isBelow(ok.finishedAt!, slow.startedAt + 1)
    const finished = changes.filter((change) => change._tag === "Finished").map((change) => change.build.drvPath.replace(/^.*-/, ""))
    assert.deepStrictEqual(finished, ["fail.drv", "ok.drv", "slow.drv"])
  })

  it("keeps the overall progress", () => {
    assert.deepStrictEqual(log.progress, { done: 2, expected: 2, running: 0, failed: 1 })
  })

  it("ignores lines that are not events", () => {
    assert.isTrue(Option.isNone(parseLogLine("warning: Git tree is dirty")))
    assert.isTrue(Option.isNone(parseLogLine("@nix {not json")))
  })
})

describe("BuildLog on Nix 2.34's internal-json output", () => {
  // The same build on Nix 2.34.8: a build's activity stops when it ends, and a failed
  // one is named only after that (and again when everything ends).
  const log = new BuildLog()
  // Whether each build had failed when it was shown as finished: what a live view prints.
  const finished: Array<[string, boolean]> = []
  readFileSync(`${repoRoot}test/fixtures/nix-build-keep-going.nix-2.34.jsonl`, "utf8").split("\n").forEach((line, i) => {
    const event = parseLogLine(line)
    if (Option.isNone(event)) return
    for (const change of log.apply(event.value, i)) {
      if (change._tag === "Finished") finished.push([change.build.drvPath.replace(/^.*-/, ""), change.build.failure !== undefined])
    }
  })

  it("shows a failed build as failed when it ends, before Nix names it", () => {
    assert.deepStrictEqual(finished, [["fail.drv", true], ["ok.drv", false], ["slow.drv", false]])
  })

  it("records the builder's failure, exit code and log once Nix names it", () => {
    const fail = drv("fail", log)!
    assert.strictEqual(fail.failure?.exitCode, 3)
    assert.match(fail.failure!.message, /^Cannot build '\/nix\/store\/[0-9a-z]{32}-fail\.drv'\.\n\s+Reason: builder failed with exit code 3\./)
    assert.deepStrictEqual(fail.lines, ["preparing 6", "error: the known failure line"])
    assert.isUndefined(drv("ok", log)!.failure)
    assert.isUndefined(drv("slow", log)!.failure)
  })

  it("records which derivation a failed dependency stopped", () => {
    assert.deepStrictEqual([...log.dependencyFailures.entries()].map(([path, count]) => [path.replace(/^.*-/, ""), count]), [["dependent.drv", 1]])
  })
})

describe("BuildLog on the wording of later Nix versions", () => {
  const event = (payload: object) => `@nix ${JSON.stringify(payload)}`
  it("reads “Cannot build … Reason: …”", () => {
    const { log } = replay([
      event({ action: "start", id: 1, type: 105, text: "", fields: ["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv", "", 1, 1] }),
      event({ action: "msg", level: 0, msg: "error: Cannot build '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv'.\n       Reason: builder failed with exit code 2." }),
      event({ action: "msg", level: 0, msg: "error: Cannot build '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-y.drv'.\n       Reason: 1 dependency failed." })
    ].join("\n"))
    assert.strictEqual(drv("x", log)?.failure?.exitCode, 2)
    assert.strictEqual(log.dependencyFailures.get("/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-y.drv"), 1)
  })

  it("reads a builder killed by a signal", () => {
    const { log } = replay(event({ action: "msg", level: 0, msg: "error: builder for '/nix/store/cccccccccccccccccccccccccccccccc-z.drv' failed due to signal 9 (Killed)" }))
    assert.strictEqual(drv("z", log)?.failure?.signal, 9)
  })

  it("keeps only the last lines of a long log, and counts them all", () => {
    const log = new BuildLog(3)
    log.apply({ action: "start", id: 1, type: 105, fields: ["/nix/store/dddddddddddddddddddddddddddddddd-w.drv"] }, 0)
    for (let i = 0; i < 10; i++) log.apply({ action: "result", id: 1, type: 101, fields: [`line ${i}`] }, i)
    assert.deepStrictEqual(drv("w", log)!.lines, ["line 7", "line 8", "line 9"])
    assert.strictEqual(drv("w", log)!.lineCount, 10)
  })
})
