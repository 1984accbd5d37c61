import { assert, describe, it } from "@effect/vitest"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { pipelineErrors, yamlPipelineErrors } from "../support/pipelineSchema.ts"
import { runTool } from "../support/tool.ts"

/**
 * `tool plan` on how the build started and what forces an action: a pipeline
 * schedule's build, `CI_ACTIONS`, and `[ci deploy …]` in commit messages, with real
 * git and nix and the stand-in buildkite-agent.
 */

const flake = (version: string) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux = { bot = drv "bot" [ "1" ]; docs = drv "docs" [ "${version}" ]; };
      apps.x86_64-linux = { deploy = app "deploy"; };`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = with ci.lib.conditions; {
          deployBot = {
            conditions = [ (branch "master") (changed [ p.bot ]) ];
            deploySteps = [ { name = "ship"; target = a.deploy; } ];
          };
          nightly = {
            conditions = [ (source "schedule") (schedule "nightly") ];
            deploySteps = [ { name = "refresh"; target = a.deploy; } ];
          };
        };
      }`
  })

interface PlanJson {
  readonly actions: ReadonlyArray<{
    name: string
    triggered: boolean
    forcedBy: string | null
    deployWithheld: string | null
    conditions: ReadonlyArray<{ kind: string; ok: boolean; detail: string }>
  }>
  readonly pipeline: { steps: ReadonlyArray<any> }
}

const system = ["--system", "x86_64-linux"]
const triggered = (plan: PlanJson) => plan.actions.filter((action) => action.triggered).map((action) => action.name)
const deploysOf = (plan: PlanJson) =>
  plan.pipeline.steps.filter((step) => step.trigger !== undefined).map((step) => step.build.env.DENBEIGH_DEPLOY_ACTION_NAME)

describe("tool plan: schedules, CI_ACTIONS and commit directives", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const first = repo.commit("first", { "flake.nix": flake("1") })
  // Only docs change: deployBot's `changed` does not hold on its own.
  const docs = repo.commit("docs 2", { "flake.nix": flake("2") })
  const directive = repo.commit("docs 3\n\n[ci deploy deployBot]", { "flake.nix": flake("3") })
  const misspelt = repo.commit("docs 4 [ci deploy deplyBot]", { "flake.nix": flake("4") })

  const build = (commit: string, env: Record<string, string> = {}) => ({
    BUILDKITE: "true",
    BUILDKITE_BRANCH: "master",
    BUILDKITE_COMMIT: commit,
    BUILDKITE_SOURCE: "webhook",
    ...env
  })
  const plan = (env: Record<string, string>, args: ReadonlyArray<string> = []) => {
    const run = runTool(["plan", "--dry-run", "--format", "json", ...system, ...args], { cwd: repo.dir, env })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const parsed = JSON.parse(run.stdout) as PlanJson
    assert.deepStrictEqual(pipelineErrors(parsed.pipeline), [])
    return { plan: parsed, stderr: run.stderr }
  }

  it("triggers only the nightly action on a build of the nightly schedule", () => {
    const { plan: nightly } = plan(build(docs, { BUILDKITE_SOURCE: "schedule", CI_SCHEDULE: "nightly" }))
    assert.deepStrictEqual(triggered(nightly), ["nightly"])
    assert.deepStrictEqual(deploysOf(nightly), ["nightly"])
    assert.deepStrictEqual(nightly.actions.find((action) => action.name === "nightly")!.conditions.map((c) => c.detail), [
      `source "schedule" matches "schedule"`,
      `schedule "nightly" matches "nightly"`
    ])
    const { plan: push } = plan(build(docs))
    assert.deepStrictEqual(triggered(push), [])
    assert.strictEqual(push.actions.find((action) => action.name === "nightly")!.conditions[1]!.detail, `CI_SCHEDULE is not set (schedule must match "nightly")`)
  })

  it("forces the actions CI_ACTIONS names, and says so", () => {
    const { plan: forced, stderr } = plan(build(docs, { BUILDKITE_SOURCE: "ui", CI_ACTIONS: "deployBot" }))
    assert.deepStrictEqual(triggered(forced), ["deployBot"])
    assert.deepStrictEqual(deploysOf(forced), ["deployBot"])
    const deployBot = forced.actions.find((action) => action.name === "deployBot")!
    assert.strictEqual(deployBot.forcedBy, "CI_ACTIONS")
    assert.strictEqual(deployBot.conditions[1]!.detail, "forced by CI_ACTIONS")
    assert.include(stderr, "✓ deployBot: triggered (forced by CI_ACTIONS)")
  })

  it("still holds a forced action to its branch, and a pull request to no deploy", () => {
    const { plan: feature } = plan(build(docs, { BUILDKITE_BRANCH: "feature", CI_ACTIONS: "all" }))
    assert.deepStrictEqual(triggered(feature), [])
    const { plan: pullRequest } = plan(build(docs, { CI_ACTIONS: "all", BUILDKITE_PULL_REQUEST: "9", BUILDKITE_PULL_REQUEST_BASE_BRANCH: "master" }), ["--base", first])
    assert.deepStrictEqual(triggered(pullRequest), ["deployBot"])
    assert.deepStrictEqual(deploysOf(pullRequest), [])
    assert.strictEqual(pullRequest.actions.find((action) => action.name === "deployBot")!.deployWithheld, "pull request #9: a pull-request build never deploys")
  })

  it("forces an action a commit between base and head names, and says which commit", () => {
    const { plan: forced } = plan(build(directive))
    const deployBot = forced.actions.find((action) => action.name === "deployBot")!
    assert.strictEqual(deployBot.forcedBy, `commit ${directive.slice(0, 12)}`)
    assert.deepStrictEqual(deploysOf(forced), ["deployBot"])
    // The directive is before the base of the next commit's build: nothing is forced there.
    const { plan: later } = plan(build(docs), ["--base", directive, "--head", directive])
    assert.deepStrictEqual(triggered(later), [])
  })

  it("annotates the build with what forced which action when it uploads", () => {
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: build(docs, { CI_ACTIONS: "deployBot" }) })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const annotate = run.agentCalls.find((call) => call.args.join(" ") === "annotate --style info --context ci-plan-forced")!
    assert.include(annotate.stdin, "<code>deployBot</code> by CI_ACTIONS")
    const upload = run.agentCalls.find((call) => call.args.join(" ") === "pipeline upload")!
    assert.deepStrictEqual(yamlPipelineErrors(upload.stdin), [])
  })

  it.each([
    { what: "a misspelt directive", env: build(misspelt), place: `commit ${misspelt.slice(0, 12)}`, name: "deplyBot" },
    { what: "a misspelt CI_ACTIONS", env: build(docs, { CI_ACTIONS: "nightly,deploy-bot" }), place: "CI_ACTIONS", name: "deploy-bot" },
    { what: "a hostile name", env: build(docs, { CI_ACTIONS: "deployBot\u200bx" }), place: "CI_ACTIONS", name: "deployBot\\u200bx" }
  ])("refuses $what with exit 2, naming the place and the nearest action, uploading nothing", ({ env, name, place }) => {
    const run = runTool(["plan", ...system], { cwd: repo.dir, env })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, `error: ${place}: "${name}" is not an action; did you mean "deployBot"?`)
    assert.deepStrictEqual(run.agentCalls, [])
  })
})
