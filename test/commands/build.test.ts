import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { BuildSummary, DerivationResult } from "../../src/domain/results.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nixErrors } from "../support/nixErrors.ts"
import { runTool, type ToolRun } from "../support/tool.ts"

/**
 * `tool build` against real Nix: derivations that build, fail with a known log
 * line, depend on a failing one, are already built, or take a while. A salt per
 * run makes every output new to the store.
 */

const salt = `${Date.now()}-${process.pid}`
const outputs = `
      packages.x86_64-linux = {
        ok = sh "ok" "echo building ok ${salt}; echo ok > $out";
        fail = sh "fail" "echo preparing ${salt}; echo 'error: the known failure line' >&2; exit 3";
        dependent = sh "dependent" "echo \${p.fail} > $out";
        prebuilt = sh "prebuilt" "echo prebuilt ${salt} > $out";
        slow = sh "slow" "sleep 1; echo slow ${salt} > $out";
        huge = sh "huge" "i=0; while [ $i -lt 60 ]; do printf '%3000s\\\\n' $i; i=$((i+1)); done; exit 1";
      };
      apps.x86_64-linux.hello = cmd "hello" "echo hello ${salt}";`

const installable = (name: string) => `.#packages.x86_64-linux.${name}`
const decodeResult = Schema.decodeUnknownSync(Schema.fromJsonString(DerivationResult))
const decodeSummary = Schema.decodeUnknownSync(Schema.fromJsonString(BuildSummary))

const metaData = (run: ToolRun) =>
  new Map(run.agentCalls.filter((call) => call.args[0] === "meta-data" && call.args[1] === "set").map((call) => [call.args[2]!, call.stdin]))
const resultOf = (run: ToolRun, target: string) => decodeResult(metaData(run).get(`ci:build:${target}`))

describe("tool build", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("fixture", { "flake.nix": fixtureFlake({ outputs }) })
  execFileSync("nix", ["build", "--no-link", installable("prebuilt")], { cwd: repo.dir, stdio: "ignore" })
  const targets = ["ok", "fail", "dependent", "prebuilt", "slow"].map(installable)
  const json = join(mkdtempSync(join(tmpdir(), "ci-build-")), "results.json")
  const run = runTool(["build", "--json", json, "--", ...targets, ".#apps.x86_64-linux.hello", installable("nope")], {
    cwd: repo.dir,
    env: { BUILDKITE: "true" }
  })

  it("exits 1 after building all that could build, naming what did not", () => {
    assert.strictEqual(run.exitCode, 1, run.stderr)
    assert.include(
      run.stderr,
      "error: 3 of 7 targets did not build: packages.x86_64-linux.fail, packages.x86_64-linux.dependent, packages.x86_64-linux.nope"
    )
  })

  it("records every target's outcome as meta-data", () => {
    const statuses = Object.fromEntries(
      ["ok", "fail", "dependent", "prebuilt", "slow", "nope"].map((name) => [name, resultOf(run, `packages.x86_64-linux.${name}`).status])
    )
    assert.deepStrictEqual(statuses, {
      ok: "built",
      fail: "failed",
      dependent: "dependency-failed",
      prebuilt: "cached",
      slow: "built",
      nope: "failed"
    })
    assert.strictEqual(resultOf(run, "apps.x86_64-linux.hello").status, "built")
  })

  it("says why a derivation failed, with its log and how to see the rest", () => {
    const fail = resultOf(run, "packages.x86_64-linux.fail")
    assert.strictEqual(fail.exitCode, 3)
    // Nix's own message, whole, in whatever words this version of Nix uses.
    assert.include(nixErrors([fail.drvPath!]), fail.error)
    assert.include(fail.error ?? "", fail.drvPath!)
    assert.deepStrictEqual(fail.logTail, [`preparing ${salt}`, "error: the known failure line"])
    assert.strictEqual(fail.logCommand, `nix log ${fail.drvPath}`)
    assert.match(fail.drvPath ?? "", /^\/nix\/store\/[0-9a-z]{32}-fail\.drv$/)
  })

  it("names the failed dependency of a derivation that could not build", () => {
    const dependent = resultOf(run, "packages.x86_64-linux.dependent")
    assert.deepStrictEqual(dependent.failedDependencies, ["fail"])
    assert.strictEqual(dependent.error, "a dependency failed: fail")
  })

  it("takes output paths from evaluation, and reports an attribute that does not evaluate", () => {
    const ok = resultOf(run, "packages.x86_64-linux.ok")
    assert.match(ok.outputs.out ?? "", /^\/nix\/store\/[0-9a-z]{32}-ok$/)
    assert.isAtLeast(resultOf(run, "packages.x86_64-linux.slow").durationMs ?? 0, 900)
    assert.strictEqual(resultOf(run, "packages.x86_64-linux.nope").error, "the flake has no such attribute")
  })

  it("records a summary under ci:build", () => {
    const summary = decodeSummary(metaData(run).get("ci:build"))
    assert.deepStrictEqual(summary.counts, { built: 3, cached: 1, substituted: 0, failed: 2, "dependency-failed": 1 })
    assert.strictEqual(summary.targets.length, 7)
  })

  it("annotates the build with a table, and the failure's log in a collapsible block", () => {
    const annotation = run.agentCalls.find((call) => call.args[0] === "annotate")!
    assert.deepStrictEqual(annotation.args, ["annotate", "--style", "error", "--context", "ci-build"])
    assert.include(annotation.stdin, "| ❌ | `packages.x86_64-linux.fail` | failed (exit code 3) |")
    assert.include(annotation.stdin, "| ⛔ | `packages.x86_64-linux.dependent` | dependency failed: fail |")
    assert.include(annotation.stdin, "| 💾 | `packages.x86_64-linux.prebuilt` | cached |")
    const fail = resultOf(run, "packages.x86_64-linux.fail")
    // A table cell's text: the error on one line.
    const summary = `<details><summary>packages.x86_64-linux.fail: ${fail.error?.replace(/\r?\n/g, " ")}</summary>`
    assert.include(annotation.stdin, `${summary}\n\n\`\`\`\npreparing ${salt}\nerror: the known failure line\n\`\`\`\n\nWhole log: \`nix log ${fail.drvPath}\`\n</details>`)
  })

  it("gives each built derivation a log group, and expands a failed one", () => {
    assert.match(run.stdout, /--- :nix: fail\npreparing [^\n]*\nerror: the known failure line\nfailed fail after [^\n]*\n\^\^\^ \+\+\+/)
    assert.match(run.stdout, /--- :nix: ok\nbuilding ok [^\n]*\nbuilt ok after/)
  })

  it("writes the same results to --json", () => {
    const written = JSON.parse(readFileSync(json, "utf8"))
    assert.deepStrictEqual(
      written.results.map((result: DerivationResult) => result.status),
      ["built", "failed", "dependency-failed", "cached", "built", "built", "failed"]
    )
  })

  it("finds what a second run has to do: nothing but the failures", () => {
    const again = runTool(["build", "--", ...targets], { cwd: repo.dir })
    assert.strictEqual(again.exitCode, 1)
    assert.deepStrictEqual(again.agentCalls, [])
    assert.match(again.stdout, /💾 packages\.x86_64-linux\.ok: cached/)
    assert.match(again.stdout, /❌ packages\.x86_64-linux\.fail: failed \(exit code 3\)/)
  })

  it("keeps a result under 100 KB, as valid JSON, when its log is larger", () => {
    const huge = runTool(["build", "--", installable("huge")], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(huge.exitCode, 1)
    const value = metaData(huge).get("ci:build:packages.x86_64-linux.huge")!
    assert.isAtMost(Buffer.byteLength(value), 100_000)
    const result = decodeResult(value)
    assert.isAbove(result.logTruncated, 0)
    assert.strictEqual(result.logTail.length + result.logTruncated, 60)
  })

  it("fails clearly when Buildkite refuses the results", () => {
    const refused = runTool(["build", "--", installable("ok")], {
      cwd: repo.dir,
      env: { BUILDKITE: "true", CI_TEST_AGENT_FAIL: "meta-data set" }
    })
    assert.strictEqual(refused.exitCode, 1)
    assert.include(refused.stderr, "error: buildkite-agent meta-data set failed: buildkite-agent meta-data set ci:build:packages.x86_64-linux.ok exited with code 1")
  })

  it("needs something to build", () => {
    const nothing = runTool(["build"], { cwd: repo.dir })
    assert.strictEqual(nothing.exitCode, 2)
    assert.include(nothing.stderr, "error: tool build: nothing to build")
  })
})

describe("tool build when Nix fails outside a builder", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("fixture", {
    "flake.nix": fixtureFlake({
      outputs: `
      packages.x86_64-linux = {
        # Another system's derivation: Nix will not build it here, and says why.
        foreign = builtins.derivation { name = "foreign"; system = "aarch64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ${salt} > $out" ]; };
        # Its builder kills the Nix running it, as the kernel's OOM killer might.
        killer = sh "killer" "echo ${salt}; kill -9 $PPID; sleep 10";
      };`
    })
  })

  it("names a derivation Nix would not build, with Nix's message whole", () => {
    const run = runTool(["build", "--", installable("foreign")], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    const foreign = resultOf(run, "packages.x86_64-linux.foreign")
    assert.strictEqual(foreign.status, "failed")
    assert.include(nixErrors([foreign.drvPath!]), foreign.error)
    assert.include(foreign.error ?? "", foreign.drvPath!)
  })

  it("says that Nix itself was killed, rather than that nothing was built", () => {
    const run = runTool(["build", "--", installable("killer")], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    const killer = resultOf(run, "packages.x86_64-linux.killer")
    assert.strictEqual(killer.status, "failed")
    assert.strictEqual(killer.error, "nix build was killed by SIGKILL")
  })
})

describe("a build list too long for one command line", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  // 400 packages with long names: about 44 KB of installables, beyond what the command line takes.
  const many = (version: string) =>
    fixtureFlake({
      outputs: `packages.x86_64-linux = builtins.listToAttrs (builtins.genList (i: {
        name = "a-package-with-a-rather-long-name-so-that-the-list-gets-long-${"$"}{toString i}";
        value = drv "many-${"$"}{toString i}" [ "${version}" "${salt}" ];
      }) 400);`
    })
  repo.commit("one", { "flake.nix": many("1") })
  repo.commit("two", { "flake.nix": many("2") })
  const state = mkdtempSync(join(tmpdir(), "ci-meta-data-"))

  it("goes to meta-data before the pipeline that reads it is uploaded", () => {
    // One step for all 400 (test/commands/planShards.test.ts splits them).
    const run = runTool(["plan", "--system", "x86_64-linux"], { cwd: repo.dir, env: { BUILDKITE: "true", CI_BUILD_SHARD_SIZE: "400" }, agentState: state })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const calls = run.agentCalls.map((call) => call.args.join(" "))
    // After the plan's annotation (a warning: the flake has no ciActions); why each
    // build changed and the (no) declared actions go to meta-data too.
    assert.deepStrictEqual(calls, [
      "annotate --style warning --context ci-plan",
      "meta-data set ci:plan:builds",
      "meta-data set ci:plan:builds:0",
      "meta-data set ci:plan:why",
      "meta-data set ci:plan:actions",
      "pipeline upload"
    ])
    assert.include(run.agentCalls.at(-1)!.stdin, "build --from-meta-data ci:plan:builds")
    const index = readFileSync(join(state, encodeURIComponent("ci:plan:builds")), "utf8")
    assert.deepStrictEqual(JSON.parse(index), { version: 1, chunks: 1, count: 400 })
  })

  it("is read back by tool build --from-meta-data", () => {
    const run = runTool(["build", "--local", "--from-meta-data", "ci:plan:builds"], { cwd: repo.dir, env: { BUILDKITE: "true" }, agentState: state })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /✅ Build of 400 derivations in [^:]*: 400 built/)
  })

  it("fails clearly when the meta-data is missing", () => {
    const run = runTool(["build", "--from-meta-data", "ci:plan:nothing"], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(run.exitCode, 1)
    assert.include(run.stderr, "error: buildkite-agent meta-data get failed")
  })
})
