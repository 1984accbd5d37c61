import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { runTool } from "../support/tool.ts"

/**
 * Malformed `ciActions`: each is a commit of its own in one fixture repository.
 * Every one must fail with exit code 2 and an error that names the place, and
 * must upload nothing (the plan runs without --dry-run, so a success would upload).
 */

const outputs = `
      packages.x86_64-linux = { bot = drv "bot" [ "1" ]; tool = drv "tool" [ "1" ]; };
      apps.x86_64-linux = { deploy = app "deploy"; lint = app "lint"; };`

const mk = (actions: string) => `ci.lib.mkActions { inherit self; actions = ${actions}; }`
const deployBot = (body: string) => mk(`{ deployBot = { ${body} }; }`)

const cases: ReadonlyArray<{ readonly name: string; readonly ciActions: string; readonly error: string; readonly outputs?: string }> = [
  {
    name: "a misspelt action field",
    ciActions: deployBot(`deploySetps = [ ];`),
    error: `ciActions.deployBot.deploySetps: unknown field, expected one of conditions, checks, builds, deploySteps, deploySystem (did you mean "deploySteps"?)`
  },
  {
    name: "an unknown step type",
    ciActions: deployBot(`deploySteps = [ { name = "a"; target = a.deploy; } { type = "wait"; } { type = "block"; } { type = "comand"; } ];`),
    error: `ciActions.deployBot.deploySteps[3].type: expected one of run, wait, block, got "comand"`
  },
  {
    name: "a step type of the wrong type",
    ciActions: deployBot(`deploySteps = [ { type = 1; } ];`),
    error: `ciActions.deployBot.deploySteps[0].type: expected one of run, wait, block, got int 1`
  },
  {
    name: "a run step without a target",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; } ];`),
    error: `ciActions.deployBot.deploySteps[0]: missing required field "target"`
  },
  {
    name: "a run step without a name",
    ciActions: deployBot(`deploySteps = [ { target = a.deploy; } ];`),
    error: `ciActions.deployBot.deploySteps[0]: missing required field "name"`
  },
  {
    name: "a check without a name",
    ciActions: deployBot(`checks = [ { target = a.lint; } ];`),
    error: `ciActions.deployBot.checks[0]: missing required field "name"`
  },
  {
    name: "a target that is a string",
    ciActions: deployBot(`checks = [ { name = "lint"; target = "apps.lint"; } ];`),
    error: `ciActions.deployBot.checks[0].target: expected a derivation or an app ({ type = "app"; program = ...; }), got "apps.lint"`
  },
  {
    name: "a target that is neither a derivation nor an app",
    ciActions: deployBot(`builds = [ { bot = p.bot; } ];`),
    error: `ciActions.deployBot.builds[0]: expected a derivation or an app ({ type = "app"; program = ...; }), got a set with attributes { bot }`
  },
  {
    name: "an app whose program is not a string",
    ciActions: deployBot(`checks = [ { name = "lint"; target = { type = "app"; program = 1; }; } ];`),
    error: `ciActions.deployBot.checks[0].target.program: expected the app's program as a string, got int 1`
  },
  {
    name: "an invalid branch regular expression",
    ciActions: deployBot(`conditions = [ { branch = "v["; } ];`),
    error: `ciActions.deployBot.conditions[0].branch: invalid regular expression 'v['`
  },
  {
    name: "an invalid tag regular expression",
    ciActions: deployBot(`conditions = [ { branch = "master"; } { tag = "v(1"; } ];`),
    error: `ciActions.deployBot.conditions[1].tag: invalid regular expression 'v(1'`
  },
  {
    name: "an empty regular expression",
    ciActions: deployBot(`conditions = [ { tag = ""; } ];`),
    error: `ciActions.deployBot.conditions[0].tag: expected a regular expression, got an empty string`
  },
  {
    name: "an unknown condition",
    ciActions: deployBot(`conditions = [ { branches = "master"; } ];`),
    error: `ciActions.deployBot.conditions[0].branches: unknown condition, expected one of branch, tag, source, schedule, changed (did you mean "branch"?)`
  },
  {
    name: "a misspelt schedule condition",
    ciActions: deployBot(`conditions = [ { schedul = "nightly"; } ];`),
    error: `ciActions.deployBot.conditions[0].schedul: unknown condition, expected one of branch, tag, source, schedule, changed (did you mean "schedule"?)`
  },
  {
    name: "an invalid source regular expression",
    ciActions: deployBot(`conditions = [ { source = "ui|(api"; } ];`),
    error: `ciActions.deployBot.conditions[0].source: invalid regular expression 'ui|(api'`
  },
  {
    name: "a schedule that is not a string",
    ciActions: deployBot(`conditions = [ { schedule = [ "nightly" ]; } ];`),
    error: `ciActions.deployBot.conditions[0].schedule: expected a string, got a list of 1 elements`
  },
  {
    name: "a condition with two kinds",
    ciActions: deployBot(`conditions = [ { branch = "master"; tag = "v.*"; } ];`),
    error: `ciActions.deployBot.conditions[0]: expected a set with exactly one of branch, tag, source, schedule, changed, got a set with attributes { branch, tag }`
  },
  {
    name: "a condition that is a string",
    ciActions: deployBot(`conditions = [ "master" ];`),
    error: `ciActions.deployBot.conditions[0]: expected a set, got "master"`
  },
  {
    name: "conditions that are not a list",
    ciActions: deployBot(`conditions = { branch = "master"; };`),
    error: `ciActions.deployBot.conditions: expected a list, got a set with attributes { branch }`
  },
  {
    name: "an empty changed list",
    ciActions: deployBot(`conditions = [ { changed = [ ]; } ];`),
    error: `ciActions.deployBot.conditions[0].changed: expected at least one target, got an empty list`
  },
  {
    name: "a changed entry that is not a target",
    ciActions: deployBot(`conditions = [ { changed = [ p.bot "tool" ]; } ];`),
    error: `ciActions.deployBot.conditions[0].changed[1]: expected a derivation or an app ({ type = "app"; program = ...; }), got "tool"`
  },
  {
    name: "two checks with one name",
    ciActions: deployBot(`checks = [ { name = "lint"; target = a.lint; } { name = "lint"; target = a.deploy; } ];`),
    error: `ciActions.deployBot.checks[1].name: duplicate check name "lint" (also used at ciActions.deployBot.checks[0])`
  },
  {
    name: "two run steps with one name",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; target = a.deploy; } { type = "block"; } { name = "deploy"; target = a.lint; } ];`),
    error: `ciActions.deployBot.deploySteps[2].name: duplicate step name "deploy" (also used at ciActions.deployBot.deploySteps[0])`
  },
  {
    name: "a wait step with a name",
    ciActions: deployBot(`deploySteps = [ { type = "wait"; name = "pause"; } ];`),
    error: `ciActions.deployBot.deploySteps[0].name: unknown field, expected one of type`
  },
  {
    name: "negative retries",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; target = a.deploy; retries = -1; } ];`),
    error: `ciActions.deployBot.deploySteps[0].retries: expected an integer from 0 to 10, got int -1`
  },
  {
    name: "retries as a string",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; target = a.deploy; retries = "2"; } ];`),
    error: `ciActions.deployBot.deploySteps[0].retries: expected an integer from 0 to 10, got "2"`
  },
  {
    name: "an empty label",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; label = "  "; target = a.deploy; } ];`),
    error: `ciActions.deployBot.deploySteps[0].label: expected non-empty text, got "  "`
  },
  {
    name: "a name with a newline",
    ciActions: deployBot(`checks = [ { name = "lint\\nbot"; target = a.lint; } ];`),
    error: `ciActions.deployBot.checks[0].name: expected a name without control or invisible characters (found U+000A), got "lint\\nbot"`
  },
  {
    name: "an action that is a list",
    ciActions: mk(`{ deployBot = [ ]; }`),
    error: `ciActions.deployBot: expected a set, got a list of 0 elements`
  },
  {
    name: "actions that are a string",
    ciActions: mk(`"deployBot"`),
    error: `ciActions: expected a set, got "deployBot"`
  },
  {
    name: "a misspelt mkActions argument",
    ciActions: `ci.lib.mkActions { inherit self; action = { }; }`,
    error: `mkActions.action: unknown field, expected one of self, actions, systems (did you mean "actions"?)`
  },
  {
    name: "a target that no output reaches",
    ciActions: deployBot(`deploySteps = [ { name = "deploy"; target = drv "hidden" [ "x" ]; } ];`),
    error: `ciActions.deployBot.deploySteps[0].target: the derivation "hidden" is not an output of this flake for x86_64-linux; expose it, for example as packages.x86_64-linux.hidden, so every agent can build it (searched packages, checks, devShells, formatter and apps for x86_64-linux)`
  },
  {
    name: "an app that no output reaches",
    ciActions: deployBot(`checks = [ { name = "lint"; target = app "elsewhere"; } ];`),
    error: `ciActions.deployBot.checks[0].target: the app with program`
  },
  {
    name: "a missing attribute in the flake's own code",
    ciActions: deployBot(`checks = [ { name = "lint"; target = a.lnit; } ];`),
    error: `ciActions.deployBot.checks[0].target: attribute 'lnit' missing (did you mean lint?) (at flake.nix:`
  },
  {
    name: "a plain attribute set in the design note's form",
    ciActions: `{ deployBot = { conditions = [ { brnach = "master"; } ]; }; }`,
    error: `ciActions.deployBot.conditions[0].brnach: unknown condition, expected one of branch, tag, source, schedule, changed (did you mean "branch"?)`
  },
  {
    name: "no actions for the agent's system",
    ciActions: `ci.lib.mkActions { inherit self; systems = [ "aarch64-linux" ]; actions = { }; }`,
    error: `ciActions: no actions for system x86_64-linux (declared for aarch64-linux); pass \`systems\` to ci.lib.mkActions`
  },
  {
    name: "one check name with two targets in two actions",
    ciActions: mk(`{ a = { checks = [ { name = "lint"; target = a.lint; } ]; }; b = { checks = [ { name = "lint"; target = a.deploy; } ]; }; }`),
    error: `ciActions.b.checks[0].name: check "lint" is also declared at ciActions.a.checks[0] with another target (apps.x86_64-linux.lint, here apps.x86_64-linux.deploy); give one of them another name`
  },
  {
    name: "an attribute name no installable can carry",
    outputs: `${outputs}\n      checks.x86_64-linux."say \\"hi\\"" = drv "hi" [ "1" ];`,
    ciActions: mk(`{ }`),
    error: `checks.x86_64-linux.say "hi": the attribute name "say \\"hi\\"" cannot be written in an installable; rename it`
  }
]

describe("tool plan with malformed ciActions", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const base = repo.commit("valid", { "flake.nix": fixtureFlake({ outputs, ciActions: mk("{ }") }) })

  it("starts from a flake that plans", () => {
    const run = runTool(["plan", "--dry-run", "--system", "x86_64-linux"], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 0, run.stderr)
  })

  it.each(cases)("rejects $name", (testCase) => {
    const head = repo.commit(testCase.name, {
      "flake.nix": fixtureFlake({ outputs: testCase.outputs ?? outputs, ciActions: testCase.ciActions })
    })
    const run = runTool(["plan", "--system", "x86_64-linux", "--base", base, "--head", head], {
      cwd: repo.dir,
      env: { BUILDKITE: "true", BUILDKITE_BRANCH: "master" }
    })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, `error: ${testCase.error}`, run.stderr)
    assert.deepStrictEqual(run.agentCalls, [])
    assert.strictEqual(run.stdout, "")
  })

  it("fails on a machine fault in Nix's words, as Nix unusable (exit 1), not as the flake's error", () => {
    // A full disk where the evaluation's output goes: the nix on PATH fails every evaluation so.
    const bin = mkdtempSync(join(tmpdir(), "ci-full-disk-"))
    const realNix = execFileSync("sh", ["-c", "command -v nix"], { encoding: "utf8" }).trim()
    writeFileSync(
      join(bin, "nix"),
      `#!/bin/sh\ncase "$*" in *--show-trace*) echo "error: writing to file: No space left on device" >&2; exit 1 ;; esac\nexec ${realNix} "$@"\n`,
      { mode: 0o755 }
    )
    const run = runTool(["plan", "--dry-run", "--no-cache", "--system", "x86_64-linux"], { cwd: repo.dir, env: { PATH: `${bin}:${process.env.PATH}` } })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    assert.include(run.stderr, "error: nix is not usable here: nix ", run.stderr)
    assert.include(run.stderr, "No space left on device", run.stderr)
    assert.strictEqual(run.stdout, "")
  })
})
