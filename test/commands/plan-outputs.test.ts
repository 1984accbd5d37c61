import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { spawnSync } from "node:child_process"
import { stripVTControlCharacters } from "node:util"
import { inject } from "vitest"
import { DerivationResult } from "../../src/domain/results.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { runTool } from "../support/tool.ts"

/**
 * Outputs that fail to evaluate, one with an error `tryEval` cannot catch (a type error) and
 * one that throws: each is that output's failure, named with Nix's message and its line,
 * and the rest is planned; only an action that refers to one fails the plan, at the action's
 * place. Messages are compared with what this machine's Nix says, never with one version's words.
 */

// A salt per run, so the build step builds bot rather than finding it in the store.
const salt = `${Date.now()}-${process.pid}`
const packages = (bot: string, extra: string, thrower: string) => `
      packages.x86_64-linux = {
        bot = drv "bot" [ "${bot}" "${salt}" ];
        extra = ${extra};
        thrower = ${thrower};
      };`
const working = packages("1", `drv "extra" [ "1" ]`, `drv "thrower" [ "1" ]`)
// `"extra-" + 42` is a type error, which tryEval cannot catch.
const broken = packages("2", `drv ("extra-" + 42) [ ]`, `throw "thrower: deliberately broken"`)

const release = (changed: string, more = "") =>
  `ci.lib.mkActions { inherit self; actions.release = { conditions = [ { changed = [ ${changed} ]; } ]; ${more} }; }`

const flake = (outputs: string, ciActions: string) => fixtureFlake({ outputs, ciActions })

/** The line of the flake where an attribute is defined, as Nix positions name it. */
const lineOf = (text: string, attribute: string) => text.split("\n").findIndex((line) => line.trimStart().startsWith(`${attribute} =`)) + 1

/** What this machine's Nix says when it evaluates the attribute alone: its last `error:` line. */
const nixMessage = (dir: string, attribute: string): string => {
  const result = spawnSync("nix", ["eval", `.#${attribute}.outPath`], { cwd: dir, encoding: "utf8" })
  assert.notStrictEqual(result.status, 0, `${attribute} evaluates`)
  const messages = stripVTControlCharacters(result.stderr).split("\n").flatMap((line) => /^\s*error: (.+)$/.exec(line)?.[1] ?? [])
  return messages.at(-1)!.trim()
}

const planEnv = { BUILDKITE: "true", BUILDKITE_BRANCH: "master" }
const decodeResult = Schema.decodeUnknownSync(Schema.fromJsonString(DerivationResult))

describe("tool plan with outputs that fail to evaluate", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const base = repo.commit("working", { "flake.nix": flake(working, release("p.bot")) })
  const headFlake = flake(broken, release("p.bot"))
  const head = repo.commit("broken, not referenced", { "flake.nix": headFlake })
  const extraLine = lineOf(headFlake, "extra")
  const throwerLine = lineOf(headFlake, "thrower")
  const extraMessage = nixMessage(repo.dir, "packages.x86_64-linux.extra")

  /** The JSON plan, which must succeed, and its changes by attribute path. */
  const planJson = (from: string, to: string) => {
    const run = runTool(["plan", "--dry-run", "--format", "json", "--system", "x86_64-linux", "--base", from, "--head", to], {
      cwd: repo.dir,
      env: planEnv
    })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const plan = JSON.parse(run.stdout)
    type Change = { readonly base: string | null; readonly head: string | null; readonly error?: string }
    return { run, plan, changed: new Map<string, Change>(plan.changed.map((change: { attrPath: string }) => [change.attrPath, change])) }
  }

  it("names each failing output with Nix's message and line, and plans the rest", () => {
    const { run, plan, changed } = planJson(base, head)
    assert.deepStrictEqual([...changed.keys()].sort(), ["packages.x86_64-linux.bot", "packages.x86_64-linux.extra", "packages.x86_64-linux.thrower"])

    const extra = changed.get("packages.x86_64-linux.extra")!
    assert.isNull(extra.head)
    assert.include(extra.error, extraMessage)
    assert.include(extra.error, `(at flake.nix:${extraLine}:`)
    const thrower = changed.get("packages.x86_64-linux.thrower")!
    assert.include(thrower.error, "thrower: deliberately broken")
    assert.include(thrower.error, `(at flake.nix:${throwerLine}:`)
    assert.isUndefined(changed.get("packages.x86_64-linux.bot")!.error)

    // The action that refers only to bot is planned as if nothing else had failed.
    assert.deepStrictEqual(plan.actions.map((action: { name: string; triggered: boolean }) => [action.name, action.triggered]), [["release", true]])
    // The build step builds them all, and fails the two that do not evaluate.
    assert.deepStrictEqual(plan.builds.map((build: { attrPath: string }) => build.attrPath), [
      "packages.x86_64-linux.bot",
      "packages.x86_64-linux.extra",
      "packages.x86_64-linux.thrower"
    ])
    assert.include(plan.warnings, `packages.x86_64-linux.extra failed to evaluate at head: ${extra.error}`)
    assert.include(plan.warnings, `packages.x86_64-linux.thrower failed to evaluate at head: ${thrower.error}`)
    assert.include(run.stderr, `warning: packages.x86_64-linux.extra failed to evaluate at head: ${extra.error}`)
  })

  it("uploads the rest, and says which failed and why in the plan's annotation", () => {
    const run = runTool(["plan", "--system", "x86_64-linux", "--base", base, "--head", head], { cwd: repo.dir, env: planEnv })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const annotation = run.agentCalls.find((call) => call.args[0] === "annotate")!
    assert.deepStrictEqual(annotation.args, ["annotate", "--style", "warning", "--context", "ci-plan"])
    // Markdown-escaped: `x86\_64`.
    assert.include(annotation.stdin, "extra failed to evaluate at head: ")
    assert.include(annotation.stdin, `flake.nix:${extraLine}:`)
    assert.include(annotation.stdin, "thrower: deliberately broken")
    assert.isTrue(run.agentCalls.some((call) => call.args.join(" ").startsWith("pipeline upload")))
  })

  it("fails them in the build step's results with Nix's message, and builds the rest", () => {
    const run = runTool(["build", "--", ...["bot", "extra", "thrower"].map((name) => `.#packages.x86_64-linux.${name}`)], {
      cwd: repo.dir,
      env: { BUILDKITE: "true" }
    })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    const results = new Map(
      run.agentCalls
        .filter((call) => call.args[0] === "meta-data" && call.args[1] === "set" && call.args[2]!.startsWith("ci:build:packages."))
        .map((call) => [call.args[2]!.slice("ci:build:".length), decodeResult(call.stdin)])
    )
    assert.strictEqual(results.get("packages.x86_64-linux.bot")?.status, "built")
    assert.strictEqual(results.get("packages.x86_64-linux.extra")?.status, "failed")
    assert.include(results.get("packages.x86_64-linux.extra")?.error, extraMessage)
    assert.strictEqual(results.get("packages.x86_64-linux.thrower")?.status, "failed")
    assert.include(results.get("packages.x86_64-linux.thrower")?.error, "thrower: deliberately broken")
  })

  it("plans against a base where an output fails to evaluate, instead of counting everything as changed", () => {
    const { plan, changed } = planJson(head, base)
    assert.strictEqual(plan.base, head)
    assert.isNull(plan.baseUnavailable ?? null)
    assert.isNull(changed.get("packages.x86_64-linux.extra")?.base)
    assert.isNotNull(changed.get("packages.x86_64-linux.bot")?.base)
  })

  it("says why in tool why too", () => {
    const run = runTool(["why", "extra", "--base", base, "--head", head], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, `error: packages.x86_64-linux.extra: does not evaluate at ${head.slice(0, 12)}: ${extraMessage}`)
    assert.include(run.stderr, `(at flake.nix:${extraLine}:`)
  })

  it.each([
    {
      name: "a changed condition naming the output with a type error",
      ciActions: release("p.bot p.extra"),
      place: "ciActions.release.conditions[0].changed",
      message: () => `packages.x86_64-linux.extra does not evaluate: ${extraMessage}`,
      line: () => extraLine
    },
    {
      name: "a check whose target throws",
      ciActions: release("p.bot", `checks = [ { name = "t"; target = p.thrower; } ];`),
      place: "ciActions.release.checks[0].target",
      message: () => "thrower: deliberately broken",
      line: () => undefined
    }
  ])("fails the plan at the action's place for $name", (testCase) => {
    const referencing = repo.commit(testCase.name, { "flake.nix": flake(broken, testCase.ciActions) })
    const run = runTool(["plan", "--system", "x86_64-linux", "--base", base, "--head", referencing], { cwd: repo.dir, env: planEnv })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    const error = run.stderr.split("\n").find((line) => line.startsWith("error: "))
    assert.isDefined(error, run.stderr)
    assert.isTrue(error!.startsWith(`error: ${testCase.place}`), error)
    assert.include(error, testCase.message())
    const line = testCase.line()
    if (line !== undefined) assert.include(error, `(at flake.nix:${line}:`)
    assert.deepStrictEqual(run.agentCalls, [])
  })
})
