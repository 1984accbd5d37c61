import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import type { Action, FlakeEvaluation, Output } from "../../src/nix/FlakeEvaluation.ts"
import { type Base, deploySystemsOf, makePlan, type PlanInput } from "../../src/plan/Plan.ts"

const store = (name: string, version = "1") => `/nix/store/${version.repeat(32).slice(0, 32)}-${name}`
const pkg = (name: string, version?: string): Output => ({
  attrPath: ["packages", "x86_64-linux", name],
  kind: "packages",
  storePath: store(name, version)
})
const appOutput = (name: string, derivation?: ReadonlyArray<string>): Output => ({
  attrPath: ["apps", "x86_64-linux", name],
  kind: "apps",
  storePath: store(derivation === undefined ? name : derivation.at(-1)!),
  program: `${store(name)}/bin/${name}`,
  derivation: derivation === undefined ? null : derivation
})

const action = (overrides: Partial<Action> = {}): Action => ({
  path: "ciActions.deploy",
  conditions: [],
  checks: [],
  builds: [],
  deploySteps: [],
  ...overrides
})

const evaluation = (outputs: ReadonlyArray<Output>, actions: Record<string, Action> | null = {}): FlakeEvaluation => ({
  version: 1,
  system: "x86_64-linux",
  hasCiActions: actions !== null,
  outputs,
  actions
})

const evaluated = (outputs: ReadonlyArray<Output>, sha = "b".repeat(40)): Base => ({
  _tag: "Evaluated",
  sha,
  evaluation: evaluation(outputs),
  choice: "the previous commit"
})

const input = (overrides: Partial<PlanInput>): PlanInput => ({
  system: "x86_64-linux",
  flakeDir: ".",
  head: "a".repeat(40),
  headEvaluation: evaluation([]),
  base: evaluated([]),
  refs: { branch: "master", tag: undefined, remoteBranches: [], source: "webhook", schedule: undefined },
  pullRequest: undefined,
  forced: [],
  ...overrides
})

const plan = (overrides: Partial<PlanInput>) => Result.getOrThrow(makePlan(input(overrides)))

describe("makePlan", () => {
  it("builds an app through the package that provides its program", () => {
    const result = plan({
      headEvaluation: evaluation([pkg("bot"), appOutput("run-bot", ["packages", "x86_64-linux", "bot"])], {
        deploy: action({ checks: [{ name: "run", displayName: "run", target: ["apps", "x86_64-linux", "run-bot"], path: "p" }] })
      }),
      base: evaluated([pkg("bot"), appOutput("run-bot", ["packages", "x86_64-linux", "bot"])])
    })
    assert.deepStrictEqual(result.builds, [{ attrPath: ["packages", "x86_64-linux", "bot"], reasons: ["deploy: check run"] }])
  })

  it("takes a deploy's steps from the evaluation for the system it deploys from", () => {
    const run = (system: string) => ({
      type: "run" as const,
      name: "ship",
      label: "Ship",
      target: ["apps", system, "deploy"],
      retries: 0,
      path: "ciActions.deploy.deploySteps[0]"
    })
    const deploying = (system: string) => action({ deploySystem: "aarch64-linux", deploySteps: [run(system)] })
    const headEvaluation = evaluation([], { deploy: deploying("x86_64-linux"), stays: action({ deploySteps: [run("x86_64-linux")] }) })
    const there = { ...evaluation([], { deploy: deploying("aarch64-linux") }), system: "aarch64-linux" }
    assert.deepStrictEqual(deploySystemsOf(headEvaluation, "x86_64-linux"), ["aarch64-linux"])
    const result = plan({ headEvaluation, deployEvaluations: new Map([["aarch64-linux", there]]) })
    assert.deepStrictEqual(result.deploys.map((deploy) => [deploy.action, deploy.system, deploy.steps]), [
      ["deploy", "aarch64-linux", [{ type: "run", name: "ship", label: "Ship", target: ".#apps.aarch64-linux.deploy", retries: 0 }]],
      ["stays", "x86_64-linux", [{ type: "run", name: "ship", label: "Ship", target: ".#apps.x86_64-linux.deploy", retries: 0 }]]
    ])

    // Not declared there, or declared there to deploy from yet another system: exit 2 at the action's deploySystem.
    const refused = (deployEvaluations: ReadonlyMap<string, FlakeEvaluation>) => {
      const result = makePlan(input({ headEvaluation, deployEvaluations }))
      assert.isTrue(Result.isFailure(result))
      return (result as Result.Failure<unknown, { message: string }>).failure.message
    }
    assert.strictEqual(
      refused(new Map([["aarch64-linux", { ...there, actions: { other: action() } }]])),
      `ciActions.deploy.deploySystem: the flake declares no action "deploy" for aarch64-linux (its actions there: other)`
    )
    assert.strictEqual(
      refused(new Map([["aarch64-linux", { ...there, actions: { deploy: action({ deploySystem: "x86_64-linux", deploySteps: [run("aarch64-linux")] }) } }]])),
      `ciActions.deploy.deploySystem: evaluated for aarch64-linux, "deploy" deploys from x86_64-linux`
    )
  })

  it("builds an app whose program no package provides as the app", () => {
    const result = plan({ headEvaluation: evaluation([appOutput("lint")]), base: evaluated([]) })
    assert.deepStrictEqual(result.builds.map((build) => build.attrPath), [["apps", "x86_64-linux", "lint"]])
  })

  it("names an output that failed to evaluate at head with why, and builds it, so the build step fails it", () => {
    const error = "cannot coerce an integer to a string (at flake.nix:13:52)"
    const broken: Output = { attrPath: ["packages", "x86_64-linux", "broken"], kind: "packages", storePath: null, error }
    const result = plan({ headEvaluation: evaluation([broken]), base: evaluated([pkg("broken")]) })
    assert.deepStrictEqual(result.changed, [{ attrPath: "packages.x86_64-linux.broken", base: store("broken"), head: null, baseDrvPath: null, headDrvPath: null, error }])
    assert.deepStrictEqual(result.builds.map((build) => build.attrPath), [broken.attrPath])
    assert.include(result.warnings, `packages.x86_64-linux.broken failed to evaluate at head: ${error}`)
  })

  it("runs a check shared by two triggered actions once", () => {
    const lint = { name: "lint", displayName: "Lint", target: ["apps", "x86_64-linux", "lint"], path: "p" }
    const result = plan({
      headEvaluation: evaluation([appOutput("lint")], { a: action({ checks: [lint] }), b: action({ checks: [lint] }) })
    })
    assert.deepStrictEqual(result.checks, [{ name: "lint", displayName: "Lint", target: lint.target, actions: ["a", "b"] }])
  })

  it("triggers an action with no conditions on every build", () => {
    const result = plan({ headEvaluation: evaluation([], { always: action() }) })
    assert.deepStrictEqual(result.actions, [{ name: "always", triggered: true, base: undefined, conditions: [], forcedBy: undefined, deployWithheld: undefined }])
  })

  it("judges an action's changed condition against its own base, and the builds against the plan's", () => {
    const changedBot = { kind: "changed" as const, targets: [["packages", "x86_64-linux", "bot"]], path: "c" }
    const lastDeploy = evaluated([pkg("bot", "0"), pkg("docs")], "d".repeat(40))
    const result = plan({
      headEvaluation: evaluation([pkg("bot"), pkg("docs", "2")], {
        deploy: action({ conditions: [changedBot] }),
        other: action({ path: "ciActions.other", conditions: [changedBot] })
      }),
      // The previous commit changed only the docs; the bot changed since the last deploy.
      base: evaluated([pkg("bot"), pkg("docs")]),
      actionBases: new Map([["deploy", lastDeploy]])
    })
    assert.deepStrictEqual(result.changed.map((change) => change.attrPath), ["packages.x86_64-linux.docs"])
    assert.deepStrictEqual(result.actions.map((a) => [a.name, a.triggered, a.base]), [["deploy", true, lastDeploy], ["other", false, undefined]])
    assert.strictEqual(result.actions[0]!.conditions[0]!.detail, "packages.x86_64-linux.bot changed")
    // The bot is built because the triggered action's changed condition names it.
    assert.deepStrictEqual(result.builds.map((build) => build.reasons), [["deploy: changed condition"], ["packages.x86_64-linux.docs changed"]])
  })

  it("warns when an action's own base is unavailable, and counts everything as changed for it", () => {
    const result = plan({
      headEvaluation: evaluation([pkg("bot")], { deploy: action({ conditions: [{ kind: "changed", targets: [["packages", "x86_64-linux", "bot"]], path: "c" }] }) }),
      base: evaluated([pkg("bot")]),
      actionBases: new Map([["deploy", { _tag: "Unavailable", sha: "d".repeat(40), reason: "base dddd has no ciActions output", choice: "the last passed deploy" } as Base]])
    })
    assert.isTrue(result.actions[0]!.triggered)
    assert.include(result.warnings, "deploy: everything counts as changed: base dddd has no ciActions output")
  })

  it("counts a changed condition as holding when the base is unavailable", () => {
    const result = plan({
      headEvaluation: evaluation([pkg("bot")], {
        deploy: action({ conditions: [{ kind: "changed", targets: [["packages", "x86_64-linux", "bot"]], path: "p" }] })
      }),
      base: { _tag: "Unavailable", sha: undefined, reason: "shallow clone", choice: "shallow clone" }
    })
    assert.deepStrictEqual(result.actions[0]!.conditions, [
      { kind: "changed", ok: true, detail: "everything counts as changed: shallow clone", path: "p" }
    ])
  })

  it("reports a pattern the regex translation cannot read at its place", () => {
    const result = makePlan(input({
      headEvaluation: evaluation([], { deploy: action({ conditions: [{ kind: "branch", pattern: "[[:nope:]]", path: "ciActions.deploy.conditions[0]" }] }) })
    }))
    const message = Result.match(result, { onSuccess: () => "planned", onFailure: (error) => error.message })
    assert.strictEqual(message, "ciActions.deploy.conditions[0]: unknown character class [:nope:]")
  })

  it("warns when the flake has no ciActions", () => {
    const result = plan({ headEvaluation: evaluation([pkg("bot")], null) })
    assert.include(result.warnings, "the flake has no ciActions output: only what changed is built")
    assert.deepStrictEqual(result.actions, [])
  })

  it("builds a new output and leaves an unchanged one alone", () => {
    const result = plan({ headEvaluation: evaluation([pkg("same"), pkg("new")]), base: evaluated([pkg("same")]) })
    assert.deepStrictEqual(result.changed, [{ attrPath: "packages.x86_64-linux.new", base: null, head: store("new"), baseDrvPath: null, headDrvPath: null }])
  })

  describe("how the build started, and forced actions", () => {
    const bot = ["packages", "x86_64-linux", "bot"]
    const changedBot = { kind: "changed" as const, targets: [bot], path: "ciActions.deployBot.conditions[1]" }
    const deploySteps = [{ type: "run" as const, name: "ship", label: "ship", target: bot, retries: 0, path: "ciActions.deployBot.deploySteps[0]" }]
    const flake = evaluation([pkg("bot")], {
      deployBot: action({
        path: "ciActions.deployBot",
        conditions: [{ kind: "branch", pattern: "master", path: "ciActions.deployBot.conditions[0]" }, changedBot],
        deploySteps
      }),
      nightly: action({
        path: "ciActions.nightly",
        conditions: [
          { kind: "source", pattern: "schedule", path: "ciActions.nightly.conditions[0]" },
          { kind: "schedule", pattern: "nightly", path: "ciActions.nightly.conditions[1]" }
        ],
        deploySteps
      })
    })
    const unchanged = evaluated([pkg("bot")])
    const triggered = (result: ReturnType<typeof plan>) => result.actions.filter((a) => a.triggered).map((a) => a.name)
    const refs = { branch: "master", tag: undefined, remoteBranches: [], source: "webhook", schedule: undefined }

    it("triggers only the nightly action on the nightly schedule's build", () => {
      const result = plan({ headEvaluation: flake, base: unchanged, refs: { ...refs, source: "schedule", schedule: "nightly" } })
      assert.deepStrictEqual(triggered(result), ["nightly"])
      assert.deepStrictEqual(result.actions.find((a) => a.name === "nightly")!.conditions.map((c) => c.detail), [
        "source \"schedule\" matches \"schedule\"",
        "schedule \"nightly\" matches \"nightly\""
      ])
      assert.deepStrictEqual(result.deploys.map((d) => d.action), ["nightly"])
    })

    it("does not trigger the nightly action on a push, nor on another schedule", () => {
      assert.deepStrictEqual(triggered(plan({ headEvaluation: flake, base: unchanged, refs })), [])
      const weekly = plan({ headEvaluation: flake, base: unchanged, refs: { ...refs, source: "schedule", schedule: "weekly" } })
      assert.deepStrictEqual(triggered(weekly), [])
      assert.strictEqual(weekly.actions.find((a) => a.name === "nightly")!.conditions[1]!.detail, "schedule \"weekly\" does not match \"nightly\"")
    })

    it("treats a forced action's changed conditions as holding, and says what forced it", () => {
      const result = plan({ headEvaluation: flake, base: unchanged, forced: [{ by: "CI_ACTIONS", names: ["deployBot"] }] })
      assert.deepStrictEqual(triggered(result), ["deployBot"])
      const deployBot = result.actions.find((a) => a.name === "deployBot")!
      assert.strictEqual(deployBot.forcedBy, "CI_ACTIONS")
      assert.strictEqual(deployBot.conditions[1]!.detail, "forced by CI_ACTIONS")
      assert.deepStrictEqual(result.deploys.map((d) => d.action), ["deployBot"])
    })

    it("still applies branch conditions to a forced action", () => {
      const result = plan({
        headEvaluation: flake,
        base: unchanged,
        refs: { ...refs, branch: "feature" },
        forced: [{ by: "commit 0123456789ab", names: ["all"] }]
      })
      assert.deepStrictEqual(triggered(result), [])
      assert.strictEqual(result.actions.find((a) => a.name === "deployBot")!.forcedBy, "commit 0123456789ab")
    })

    it("never deploys a pull request, even when forced", () => {
      const result = plan({ headEvaluation: flake, base: unchanged, pullRequest: "7", forced: [{ by: "CI_ACTIONS", names: ["all"] }] })
      assert.deepStrictEqual(triggered(result), ["deployBot"])
      assert.deepStrictEqual(result.deploys, [])
      assert.strictEqual(result.actions.find((a) => a.name === "deployBot")!.deployWithheld, "pull request #7: a pull-request build never deploys")
    })

    it("refuses a name that is no action, naming where it came from and the nearest action", () => {
      const result = makePlan(input({ headEvaluation: flake, base: unchanged, forced: [{ by: "commit 0123456789ab", names: ["deplyBot"] }] }))
      assert.isTrue(Result.isFailure(result))
      const error = Result.getOrThrow(Result.flip(result))
      assert.strictEqual(error.place, "commit 0123456789ab")
      assert.include(error.detail, "\"deplyBot\" is not an action; did you mean \"deployBot\"?")
    })
  })
})
