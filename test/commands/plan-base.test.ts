import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, inject } from "vitest"
import { apiToken, FakeBuildkite, organization } from "../support/fakeBuildkite.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { pipelineErrors } from "../support/pipelineSchema.ts"
import { runTool, runToolAsync, type ToolRun } from "../support/tool.ts"

/**
 * Which commit `tool plan` compares with, on real histories: a release tag against
 * the previous release (git alone), a branch push against its last passed build and
 * a deploying action against its last passed deploy (Buildkite's REST API, a stand-in
 * on 127.0.0.1 that filters as Buildkite does), and each fallback planned and warned.
 */

interface BaseJson {
  readonly commit: string | null
  readonly choice: string
  readonly unavailable: string | null
}

interface PlanJson {
  readonly base: string | null
  readonly baseChoice: string
  readonly changed: ReadonlyArray<{ attrPath: string; why: ReadonlyArray<unknown> | null }>
  readonly actions: ReadonlyArray<{ name: string; triggered: boolean; base: BaseJson; conditions: ReadonlyArray<{ kind: string; ok: boolean; detail: string }> }>
  readonly deploys: ReadonlyArray<{ action: string }>
  readonly warnings: ReadonlyArray<string>
  readonly pipeline: { steps: ReadonlyArray<unknown> }
}

const releaseConditions = `[ { tag = "v.*"; } { changed = [ p.bot ]; } ]`
const branchConditions = `[ { branch = "master"; } { changed = [ p.bot ]; } ]`

const flakeAt = (versions: { bot?: string; docs?: string } = {}, conditions = releaseConditions) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux = {
        bot = drv "bot" [ "${versions.bot ?? "1"}" ];
        docs = drv "docs" [ "${versions.docs ?? "1"}" ];
      };
      apps.x86_64-linux.deploy = app "deploy";`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = { system }: {
          deployBot = {
            conditions = ${conditions};
            deploySteps = [ { name = "production"; target = a.deploy; } ];
          };
        };
      }`
  })

const system = ["--system", "x86_64-linux"]

const decode = (run: ToolRun): PlanJson => {
  assert.strictEqual(run.exitCode, 0, run.stderr)
  const plan = JSON.parse(run.stdout) as PlanJson
  assert.deepStrictEqual(pipelineErrors(plan.pipeline), [])
  return plan
}

const bot = "packages.x86_64-linux.bot"
const short = (sha: string) => sha.slice(0, 12)

/** A bot change, two docs commits, each on master; returns the shas. */
const releaseHistory = (conditions = releaseConditions) => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const released = repo.commit("v1.0.0", { "flake.nix": flakeAt({}, conditions) })
  repo.git("tag", "v1.0.0")
  const botChange = repo.commit("bot 2", { "flake.nix": flakeAt({ bot: "2" }, conditions) })
  const docs1 = repo.commit("docs 2", { "flake.nix": flakeAt({ bot: "2", docs: "2" }, conditions) })
  const docs2 = repo.commit("docs 3", { "flake.nix": flakeAt({ bot: "2", docs: "3" }, conditions) })
  return { repo, released, botChange, docs1, docs2 }
}

describe("tool plan: a tag build compares with the previous release", () => {
  const { repo, released, docs1 } = releaseHistory()
  repo.git("tag", "ci-not-a-release", docs1)
  repo.git("tag", "v1.1.0")

  it("deploys the bot changed three commits before the tag, with no API", () => {
    const plan = decode(runTool(["plan", "--dry-run", "--format", "json", ...system, "--tag", "v1.1.0"], { cwd: repo.dir }))
    assert.strictEqual(plan.base, released)
    assert.strictEqual(plan.baseChoice, `the previous tag "v1.0.0", matching "v.*"`)
    assert.deepStrictEqual(plan.changed.map((change) => change.attrPath), [bot, "packages.x86_64-linux.docs"])
    const [action] = plan.actions
    assert.isTrue(action!.triggered)
    assert.deepStrictEqual(action!.base, {
      commit: released,
      choice: `${plan.baseChoice} (the last passed deploy of deployBot is unknown: CI_BUILDKITE_API_TOKEN is not set)`,
      unavailable: null
    })
    assert.deepStrictEqual(plan.deploys.map((deploy) => deploy.action), ["deployBot"])
    assert.deepStrictEqual(plan.warnings, [])
    // Why, from the derivations: the builder's script changed with the version.
    assert.deepStrictEqual(plan.changed[0]!.why, [
      { kind: "args", name: "1", base: "echo 1 > $out", head: "echo 2 > $out", line: null, attributes: [], flakeInput: null, why: [], unexplored: null }
    ])
  })

  it("says why each output changed, one line each, and the tree with --why", () => {
    const args = ["plan", "--dry-run", ...system, "--tag", "v1.1.0"]
    const oneLine = runTool(args, { cwd: repo.dir })
    assert.strictEqual(oneLine.exitCode, 0, oneLine.stderr)
    assert.include(oneLine.stderr, `plan for x86_64-linux: head ${short(repo.git("rev-parse", "HEAD"))}, base ${short(released)}, the previous tag "v1.0.0", matching "v.*"`)
    assert.include(oneLine.stderr, `\n  ${bot}: args[1]: "echo 1 > $out" → "echo 2 > $out"\n`)
    const tree = runTool([...args, "--why"], { cwd: repo.dir })
    assert.include(tree.stderr, `\n  ${bot}: args[1]: "echo 1 > $out" → "echo 2 > $out"\n      └─ args[1]: "echo 1 > $out" → "echo 2 > $out"\n`)
  })

  it("compares a tag with no earlier release with the previous commit, and says so", () => {
    const run = runTool(["plan", "--dry-run", "--format", "json", ...system, "--tag", "v1.1.0", "--head", released], { cwd: repo.dir })
    // v1.0.0's own commit: v1.0.0 is on head, not before it, and the commit is the first.
    const plan = decode(run)
    assert.isNull(plan.base)
    assert.match(plan.baseChoice, /is the first commit \(no earlier tag matching "v\.\*" in this clone\)$/)
  })
})

describe("tool plan: the Buildkite API chooses a branch's base and a deploy's", () => {
  const api = new FakeBuildkite()
  beforeAll(() => api.start())
  afterAll(() => api.stop())

  const { repo, released, botChange, docs1, docs2 } = releaseHistory(branchConditions)
  repo.addOrigin()
  repo.publish("master")

  const environment = (overrides: Record<string, string> = {}) => ({
    BUILDKITE: "true",
    BUILDKITE_BRANCH: "master",
    BUILDKITE_COMMIT: docs2,
    BUILDKITE_ORGANIZATION_SLUG: organization,
    BUILDKITE_PIPELINE_SLUG: "ci",
    BUILDKITE_PIPELINE_DEFAULT_BRANCH: "master",
    CI_BUILDKITE_API_URL: api.url,
    CI_BUILDKITE_API_TOKEN: apiToken,
    ...overrides
  })
  const plan = (overrides: Record<string, string> = {}, args: ReadonlyArray<string> = []) =>
    runToolAsync(["plan", "--dry-run", "--format", "json", ...system, ...args], { cwd: repo.dir, env: environment(overrides) })

  const ciBuild = (number: number, commit: string, state: string, branch = "master") =>
    api.set({ id: `ci-${number}`, pipeline: "ci", number, state, commit, branch, jobs: [] })
  const deployBuild = (number: number, commit: string, state: string, action = "deployBot") =>
    api.set({ id: `deploy-${number}`, pipeline: "deploy", number, state, commit, branch: "master", metaData: { "ci:deploy-action": action, denbeighDeploy: "true" }, jobs: [] })

  it("compares a push with the last passed build of its branch, and the deploy with the last passed deploy", async () => {
    api.builds.clear()
    ciBuild(1, released, "passed")
    ciBuild(2, botChange, "passed")
    ciBuild(3, docs1, "failed")
    ciBuild(4, botChange, "passed", "feature")
    deployBuild(1, released, "passed")
    deployBuild(2, botChange, "failed")
    deployBuild(3, docs1, "passed", "deployDocs")
    const result = decode(await plan())
    // The builds: what changed since build #2 (the failed #3 is not a base).
    assert.strictEqual(result.base, botChange)
    assert.strictEqual(result.baseChoice, `the last passed build of "master" (#2, ${short(botChange)})`)
    assert.deepStrictEqual(result.changed.map((change) => change.attrPath), ["packages.x86_64-linux.docs"])
    // The deploy: what changed since the last passed deploy of this action (#1).
    const [action] = result.actions
    assert.deepStrictEqual(action!.base, { commit: released, choice: `the last passed deploy of deployBot (#1, ${short(released)})`, unavailable: null })
    assert.isTrue(action!.triggered)
    assert.strictEqual(action!.conditions[1]!.detail, `${bot} changed`)
    assert.deepStrictEqual(result.deploys.map((deploy) => deploy.action), ["deployBot"])
    assert.deepStrictEqual(result.warnings, [])

    const queries = api.requests.filter((request) => request.method === "GET").map((request) => `${request.path}${request.query}`)
    assert.includeMembers(queries, [
      `/v2/organizations/${organization}/pipelines/ci/builds?branch=master&state=passed&per_page=1`,
      `/v2/organizations/${organization}/pipelines/deploy/builds?state=passed&meta_data%5Bci%3Adeploy-action%5D=deployBot&per_page=1`
    ])
  })

  it("does not deploy when nothing the action watches changed since its last passed deploy", async () => {
    api.builds.clear()
    ciBuild(1, released, "passed")
    deployBuild(1, docs1, "passed")
    const result = decode(await plan())
    assert.strictEqual(result.base, released)
    assert.strictEqual(result.actions[0]!.base.commit, docs1)
    assert.isFalse(result.actions[0]!.triggered)
    assert.deepStrictEqual(result.deploys, [])
  })

  it("compares a branch with no passed build yet with its merge-base with the default branch", async () => {
    api.builds.clear()
    repo.git("checkout", "--quiet", "-b", "feature", botChange)
    const feature = repo.commit("feature work", { "README.md": "feature\n" })
    repo.git("checkout", "--quiet", "master")
    const result = decode(await plan({ BUILDKITE_BRANCH: "feature", BUILDKITE_COMMIT: feature }))
    assert.strictEqual(result.base, botChange)
    assert.strictEqual(result.baseChoice, `the merge-base with "master" (no last passed build of "feature" yet)`)
    assert.deepStrictEqual(result.warnings, [])
  })

  const fallbacks: ReadonlyArray<readonly [string, () => Record<string, string>, RegExp]> = [
    [
      "the API cannot be reached",
      () => ({ CI_BUILDKITE_API_URL: "http://127.0.0.1:1" }),
      /^the last passed build of "master" is unknown: Buildkite's API could not be reached/
    ],
    [
      "the token is refused",
      () => ({ CI_BUILDKITE_API_TOKEN: "not-the-token" }),
      /^the last passed build of "master" is unknown: Buildkite refused CI_BUILDKITE_API_TOKEN \(HTTP 401\)/
    ],
    [
      "the last passed build names no commit sha",
      () => (ciBuild(9, "HEAD", "passed"), {}),
      /^the last passed build of "master" \(#9\) has no commit sha: "HEAD"$/
    ],
    [
      "the last passed build's commit is not in this clone",
      () => (ciBuild(9, "0123456789abcdef0123456789abcdef01234567", "passed"), {}),
      /^the last passed build of "master" \(#9, 0123456789ab\) is not in this clone \(force-pushed away\?\)$/
    ],
    [
      "the last passed build's commit is not an ancestor (a force-push)",
      () => {
        repo.git("checkout", "--quiet", "-b", "rewritten", released)
        const rewritten = repo.commit("rewritten history", { "README.md": "gone\n" })
        repo.git("checkout", "--quiet", "master")
        ciBuild(9, rewritten, "passed")
        return {}
      },
      /^the last passed build of "master" \(#9, [0-9a-f]{12}\) is not an ancestor of [0-9a-f]{12} \(a force-push\?\)$/
    ]
  ]
  for (const [name, arrange, warning] of fallbacks) {
    it(`plans against the previous commit and warns when ${name}`, async () => {
      api.builds.clear()
      const overrides = arrange()
      const run = await plan(overrides)
      const result = decode(run)
      assert.strictEqual(result.base, docs1)
      assert.match(result.baseChoice, /^the previous commit \(/)
      assert.match(result.warnings[0]!, warning)
      assert.match(run.stderr, /warning: the last passed build/)
      // The deploy's base falls back to the builds' base, and says why.
      assert.strictEqual(result.actions[0]!.base.commit, docs1)
      assert.match(result.actions[0]!.base.choice, /^the builds' base, the previous commit \(.*\) \(.*deploy of deployBot/)
      assert.notInclude(run.stderr + run.stdout, overrides.CI_BUILDKITE_API_TOKEN ?? apiToken)
    })
  }

  it("says a shallow clone lacks the last passed build's commit", async () => {
    api.builds.clear()
    ciBuild(1, released, "passed")
    const clone = join(mkdtempSync(join(tmpdir(), "ci-shallow-")), "clone")
    execFileSync("git", ["clone", "--quiet", "--depth", "2", `file://${repo.dir}`, clone])
    const run = await runToolAsync(["plan", "--dry-run", "--format", "json", ...system], { cwd: clone, env: environment() })
    const result = decode(run)
    assert.strictEqual(result.base, docs1)
    assert.include(result.warnings, `the last passed build of "master" (#1, ${short(released)}) is not in this clone (a shallow clone)`)
  })
})

describe("tool plan: why, when everything changed", () => {
  it("explains the first 200 changed outputs and says the rest were not looked into", () => {
    const flake = (dep: string) =>
      fixtureFlake({
        outputs: `
      packages.x86_64-linux = builtins.listToAttrs (builtins.genList (i: {
        name = "p\${toString i}";
        value = drv "p\${toString i}" [ (drv "dep" [ "${dep}" ]) ];
      }) 205);`,
        ciActions: `ci.lib.mkActions { inherit self; actions = { }; }`
      })
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    repo.commit("dep 1", { "flake.nix": flake("1") })
    repo.commit("dep 2", { "flake.nix": flake("2") })
    const plan = decode(runTool(["plan", "--dry-run", "--format", "json", ...system], { cwd: repo.dir }))
    const changed = plan.changed as ReadonlyArray<{ attrPath: string; why: ReadonlyArray<{ kind: string }>; whyError: string | null }>
    assert.strictEqual(changed.length, 205)
    assert.isTrue(changed.slice(0, 200).every((change) => change.whyError === null && change.why[0]?.kind === "input"))
    assert.deepStrictEqual(
      [...new Set(changed.slice(200).map((change) => change.whyError))],
      ["not looked into: 205 outputs changed, and the first 200 are explained; `tool why` explains any"]
    )
  })
})
