import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { CheckResult, DeployResult } from "../../src/domain/results.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nixErrors } from "../support/nixErrors.ts"
import { runTool, type ToolRun } from "../support/tool.ts"

/** `tool check` and `tool deploy` against real Nix, with the stand-in buildkite-agent. */

const salt = `${Date.now()}-${process.pid}`
const counter = join(mkdtempSync(join(tmpdir(), "ci-flaky-")), "count")
const outputs = `
      packages.x86_64-linux.broken = sh "broken" "echo broken ${salt}; exit 7";
      apps.x86_64-linux = {
        lint = cmd "lint" "echo checked ${salt}; echo 'all good' >&2";
        style = cmd "style" "echo 'line 1'; echo 'bad indentation at flake.nix:3' >&2; exit 3";
        broken = { type = "app"; program = "\${p.broken}/bin/broken"; };
        flaky = cmd "flaky" "n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${counter}; echo attempt $n; [ $n -ge 3 ]";
        deploy = cmd "deploy" "echo deployed ${salt}";
      };`

const metaData = (run: ToolRun, key: string) =>
  run.agentCalls.find((call) => call.args[0] === "meta-data" && call.args[2] === key)?.stdin
const annotation = (run: ToolRun) => run.agentCalls.find((call) => call.args[0] === "annotate")

describe("tool check and tool deploy", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("fixture", { "flake.nix": fixtureFlake({ outputs }) })
  const buildkite = { BUILDKITE: "true" }

  it("runs a passing check in its log group and records it", () => {
    const run = runTool(["check", "--target", ".#apps.x86_64-linux.lint", "--name", "lint"], { cwd: repo.dir, env: buildkite })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`--- :nix: Check: lint\\nchecked ${salt}\\n`))
    assert.include(run.stderr, "all good")
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(CheckResult))(metaData(run, "ci:check:lint"))
    assert.strictEqual(result.status, "passed")
    assert.strictEqual(result.run.exitCode, 0)
    assert.deepStrictEqual([...result.run.outputTail].sort(), ["all good", `checked ${salt}`])
    assert.deepStrictEqual(annotation(run)?.args, ["annotate", "--style", "success", "--context", "ci-check-lint"])
  })

  it("exits as a failing check does, expands its group, and records the end of its output", () => {
    const run = runTool(["check", "--target", ".#apps.x86_64-linux.style", "--name", "style"], { cwd: repo.dir, env: buildkite })
    assert.strictEqual(run.exitCode, 3)
    assert.match(run.stdout, /--- :nix: Check: style\nline 1\n\^\^\^ \+\+\+/)
    assert.include(run.stderr, "error: check style failed: exit code 3")
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(CheckResult))(metaData(run, "ci:check:style"))
    assert.strictEqual(result.status, "failed")
    assert.strictEqual(result.run.exitCode, 3)
    assert.include(result.run.outputTail, "bad indentation at flake.nix:3")
    const annotated = annotation(run)!
    assert.deepStrictEqual(annotated.args, ["annotate", "--style", "error", "--context", "ci-check-style"])
    assert.include(annotated.stdin, "bad indentation at flake.nix:3")
  })

  it("fails a check whose target does not build, saying so", () => {
    const run = runTool(["check", "--target", ".#apps.x86_64-linux.broken"], { cwd: repo.dir, env: buildkite })
    assert.strictEqual(run.exitCode, 1)
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(CheckResult))(metaData(run, "ci:check:apps.x86_64-linux.broken"))
    // Nix's own message for the derivation that failed, whole, in whatever words this Nix uses.
    const [, said] = /^\.#apps\.x86_64-linux\.broken did not build: (.*)$/s.exec(result.run.error ?? "") ?? []
    const drvPath = /'(\/nix\/store\/[0-9a-z]{32}-broken\.drv)'/.exec(said ?? "")?.[1]
    assert.isDefined(drvPath, result.run.error ?? "")
    assert.include(nixErrors([drvPath!]), said)
    assert.deepStrictEqual(result.run.outputTail, [`broken ${salt}`])
    assert.isNull(result.run.exitCode)
  })

  it("reports to the terminal outside Buildkite, and to nothing else", () => {
    const run = runTool(["check", "--target", ".#apps.x86_64-linux.lint", "--name", "lint"], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 0)
    assert.deepStrictEqual(run.agentCalls, [])
    assert.match(run.stdout, /✅ Check lint passed in/)
    const local = runTool(["check", "--local", "--target", ".#apps.x86_64-linux.lint"], { cwd: repo.dir, env: buildkite })
    assert.deepStrictEqual(local.agentCalls, [])
  })

  it("retries a deploy declared with retries = 2 that fails twice, then passes", () => {
    const run = runTool(["deploy", "--target", ".#apps.x86_64-linux.flaky", "--name", "flaky", "--retries", "2", "--retry-delay", "0.01"], {
      cwd: repo.dir,
      env: buildkite
    })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /--- :rocket: Deploy: flaky\nattempt 1\n\^\^\^ \+\+\+\nflaky: exit code 1; trying again in [^\n]*\n--- :rocket: Deploy: flaky \(attempt 2\)\nattempt 2\n/)
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(DeployResult))(metaData(run, "ci:deploy:flaky"))
    assert.strictEqual(result.status, "passed")
    assert.deepStrictEqual(result.attempts.map((attempt) => attempt.exitCode), [1, 1, 0])
    assert.include(annotation(run)?.stdin ?? "", "succeeded after 3 attempts")
  })

  it("does not run a deploy again unless it declares retries", () => {
    const run = runTool(["deploy", "--target", ".#apps.x86_64-linux.style", "--name", "once"], { cwd: repo.dir, env: buildkite })
    assert.strictEqual(run.exitCode, 3)
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(DeployResult))(metaData(run, "ci:deploy:once"))
    assert.strictEqual(result.attempts.length, 1)
    assert.include(run.stderr, "error: deploy once failed: exit code 3")
  })

  it("never retries a deploy whose target fails to build", () => {
    const run = runTool(["deploy", "--target", ".#apps.x86_64-linux.broken", "--name", "broken", "--retries", "3", "--retry-delay", "0.01"], {
      cwd: repo.dir,
      env: buildkite
    })
    assert.strictEqual(run.exitCode, 1)
    const result = Schema.decodeUnknownSync(Schema.fromJsonString(DeployResult))(metaData(run, "ci:deploy:broken"))
    assert.strictEqual(result.attempts.length, 1)
  })

  it("rejects a retry count out of range with exit code 2", () => {
    const run = runTool(["deploy", "--target", ".#apps.x86_64-linux.deploy", "--retries", "11"], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 2)
    assert.include(run.stderr, "Expected a value between 0 and 10")
  })
})
