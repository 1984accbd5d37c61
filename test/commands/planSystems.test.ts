import { assert, describe, it } from "@effect/vitest"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { interpolatePipeline } from "../support/interpolate.ts"
import { parseWithLibyaml, pipelineErrors, yamlPipelineErrors } from "../support/pipelineSchema.ts"
import { runTool } from "../support/tool.ts"

/**
 * Several systems: a flake with x86_64-linux and aarch64-linux packages plans a
 * build step per system, each routed to its system's agents. Both evaluate here;
 * only x86_64-linux builds (this machine's system, which plans).
 */

const salt = `${Date.now()}-${process.pid}`
// A system the flake names is hostile text like any other: it must reach the agent tag intact.
const hostile = ["yes", "2024_01_15", "$HOME ${X} $$", "key: value", "#comment"]
const forSystem = (system: string, version: string) => `{
        lib = builtins.derivation { name = "lib"; system = ${JSON.stringify(system).replaceAll("${", "\\${")}; builder = "/bin/sh"; args = [ "-c" "echo ${version} ${salt} > $out" ]; };
      }`
const nixList = (items: ReadonlyArray<string>) => `[ ${items.map((item) => JSON.stringify(item)).join(" ")} ]`
const flakeAt = (version: string, systems: ReadonlyArray<string>) =>
  fixtureFlake({
    outputs: `
      packages = {
${systems.map((system) => `        ${JSON.stringify(system).replaceAll("${", "\\${")} = ${forSystem(system, version)};`).join("\n")}
      };`,
    ciActions: `ci.lib.mkActions { inherit self; actions = { }; }`
  })

interface PlanJson {
  readonly system: string
  readonly buildsBySystem: Readonly<Record<string, ReadonlyArray<{ attrPath: string }>>>
  readonly pipeline: { steps: ReadonlyArray<any> }
}

const plan = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): PlanJson => {
  const run = runTool(["plan", "--dry-run", "--format", "json", ...args], { cwd, env })
  assert.strictEqual(run.exitCode, 0, run.stderr)
  const planned = JSON.parse(run.stdout) as PlanJson
  assert.deepStrictEqual(pipelineErrors(planned.pipeline), [])
  return planned
}

describe("tool plan: several systems", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const systems = ["x86_64-linux", "aarch64-linux"]
  const base = repo.commit("first", { "flake.nix": flakeAt("1", systems) })
  repo.commit("lib 2", { "flake.nix": flakeAt("2", systems) })

  it("plans a build step per system, each on its system's agents", () => {
    const planned = plan(repo.dir, ["--base", base])
    const builds = planned.pipeline.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("build-"))
    assert.deepStrictEqual(
      builds.map((step) => [step.label, step.agents, step.command, step.env?.TOOL_TARGET]),
      systems.map((system, index) => [
        `:nix: Build 1 derivation (${system})`,
        { system },
        // Each system's step records its results as its own part: they run at once.
        `nix run "$\${TOOL_TARGET}" -- build --part system-${index} -- '.#packages.${system}.lib'`,
        // The tool for the agent's own system, whichever it is.
        "github:denbeigh2000/ci#tool"
      ])
    )
    assert.deepStrictEqual(Object.keys(planned.buildsBySystem), systems)

    // The x86_64-linux step's builds build here.
    const built = runTool(["build", "--", ...planned.buildsBySystem["x86_64-linux"]!.map((build) => `.#${build.attrPath}`)], { cwd: repo.dir })
    assert.strictEqual(built.exitCode, 0, built.stderr)
  })

  it("names the agent tag as CI_SYSTEM_TAG says", () => {
    const planned = plan(repo.dir, ["--base", base, "--system", "x86_64-linux"])
    // --system narrows the plan to one system: one build step, routed nowhere in particular.
    const builds = planned.pipeline.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("build-"))
    assert.deepStrictEqual(builds.map((step) => step.agents), [undefined])
    const tagged = plan(repo.dir, ["--base", base], { CI_SYSTEM_TAG: "arch" })
    assert.deepStrictEqual(
      tagged.pipeline.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("build-")).map((step) => step.agents),
      [{ arch: "x86_64-linux" }, { arch: "aarch64-linux" }]
    )
  })

  it("routes the build step when only one of the systems CI covers has something to build", () => {
    const one = FixtureRepo.create(inject("ciSnapshot"))
    const first = one.commit("first", { "flake.nix": flakeAt("1", systems) })
    // Only x86_64-linux's lib changes.
    one.commit("x86_64-linux's lib 2", { "flake.nix": flakeAt("1", systems).replace(forSystem("x86_64-linux", "1"), forSystem("x86_64-linux", "2")) })
    const planned = plan(one.dir, ["--base", first]) as PlanJson & { systems: ReadonlyArray<string> }
    assert.deepStrictEqual(planned.systems, systems)
    const builds = planned.pipeline.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("build-"))
    assert.deepStrictEqual(builds.map((step) => [step.agents, step.command]), [
      [{ system: "x86_64-linux" }, `nix run "$\${TOOL_TARGET}" -- build -- '.#packages.x86_64-linux.lib'`]
    ])
  })

  it("carries hostile system names to their agent tags intact, as libyaml reads them", () => {
    const other = FixtureRepo.create(inject("ciSnapshot"))
    const hostileSystems = ["x86_64-linux", ...hostile]
    const first = other.commit("first", { "flake.nix": flakeAt("1", hostileSystems) })
    other.commit("lib 2", { "flake.nix": flakeAt("2", hostileSystems) })
    const run = runTool(["plan", "--dry-run", "--base", first], { cwd: other.dir })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.deepStrictEqual(yamlPipelineErrors(run.stdout), [])
    const [parsed] = parseWithLibyaml([run.stdout])
    assert(parsed !== undefined && "documents" in parsed)
    // As the agent reads the upload: libyaml, then interpolation.
    const { value } = interpolatePipeline(parsed.documents[0], {}) as { value: { steps: ReadonlyArray<any> } }
    const builds = value.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("build-"))
    // The planning system first, then the others in Nix's order of attribute names.
    assert.deepStrictEqual(builds.map((step) => step.agents), ["x86_64-linux", ...[...hostile].sort()].map((system) => ({ system })))
  })
})

describe("tool plan: an action that deploys from another system", () => {
  const systems = ["x86_64-linux", "aarch64-linux"]
  // Each system's lib and deploy app; the action's steps are written once, for whichever system evaluates it.
  const flakeWith = (version: string, action: string) =>
    fixtureFlake({
      outputs: `
      packages = builtins.listToAttrs (map (s: { name = s; value.lib = builtins.derivation { name = "lib"; system = s; builder = "/bin/sh"; args = [ "-c" "echo ${version} ${salt} > $out" ]; }; }) ${nixList(systems)});
      apps = builtins.listToAttrs (map (s: { name = s; value.deploy = { type = "app"; program = "\${builtins.derivation { name = "deploy"; system = s; builder = "/bin/sh"; args = [ "-c" "echo ${salt} > $out" ]; }}/bin/deploy"; }; }) ${nixList(systems)});`,
      ciActions: `ci.lib.mkActions { inherit self; actions = { system }: { deployBot = { ${action} }; }; }`
    })
  const deploying = (deploySystem: string, target = "self.apps.\${system}.deploy") => `
        deploySystem = ${JSON.stringify(deploySystem)};
        checks = [ { name = "lint"; target = self.packages.\${system}.lib; } ];
        deploySteps = [ { name = "staging"; target = ${target}; } { type = "block"; } { name = "production"; target = ${target}; retries = 1; } ];`
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const base = repo.commit("first", { "flake.nix": flakeWith("1", deploying("aarch64-linux")) })
  const head = repo.commit("lib 2", { "flake.nix": flakeWith("2", deploying("aarch64-linux")) })

  /** The deploy build's environment, as the CI plan's trigger step gives it once Buildkite has interpolated the upload. */
  const triggerEnv = () => {
    const planned = plan(repo.dir, ["--base", base, "--head", head]) as PlanJson & { deploys: ReadonlyArray<unknown> }
    const trigger = planned.pipeline.steps.find((step) => typeof step === "object" && step.trigger !== undefined)
    return { planned, env: (interpolatePipeline(trigger, {}).value as { build: { env: Record<string, string> } }).build.env }
  }
  const deployWith = (stepData: unknown, args: ReadonlyArray<string> = []) =>
    runTool(["plan", ...args], {
      cwd: repo.dir,
      env: { BUILDKITE: "true", BUILDKITE_COMMIT: head, DENBEIGH_DEPLOY: "true", STEP_DATA: JSON.stringify(stepData) }
    })
  const declared = (system: string) => ({
    version: 1,
    action: "deployBot",
    system,
    steps: [
      { type: "run", name: "staging", label: "staging", target: `.#apps.${system}.deploy`, retries: 0 },
      { type: "block", label: null, prompt: null },
      { type: "run", name: "production", label: "production", target: `.#apps.${system}.deploy`, retries: 1 }
    ]
  })

  it("plans its deploy from that system's evaluation, its checks on the planning system's agents", () => {
    const { planned, env } = triggerEnv()
    assert.deepStrictEqual(planned.deploys, [declared("aarch64-linux")])
    assert.deepStrictEqual(JSON.parse(env.STEP_DATA!), declared("aarch64-linux"))
    // Grouped by system: the deploy's targets are built on the system it deploys from, not the planning one.
    assert.deepStrictEqual(
      Object.entries(planned.buildsBySystem).map(([system, builds]) => [system, builds.map((build) => build.attrPath)]),
      [["x86_64-linux", ["packages.x86_64-linux.lib"]], ["aarch64-linux", ["packages.aarch64-linux.lib", "apps.aarch64-linux.deploy"]]]
    )
    const checks = planned.pipeline.steps.filter((step) => typeof step === "object" && String(step.key).startsWith("check-"))
    assert.deepStrictEqual(checks.map((step) => [step.agents, step.command]), [
      [{ system: "x86_64-linux" }, `nix run "$\${TOOL_TARGET}" -- check --target '.#packages.x86_64-linux.lib' --name lint`]
    ])
  })

  it("routes the deploy build's steps to that system's agents, re-checked against the flake evaluated for it", () => {
    const { env } = triggerEnv()
    const run = runTool(["plan"], { cwd: repo.dir, env: { BUILDKITE: "true", BUILDKITE_COMMIT: head, ...env } })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const uploaded = run.agentCalls.at(-1)!
    assert.deepStrictEqual(uploaded.args, ["pipeline", "upload"])
    assert.deepStrictEqual(yamlPipelineErrors(uploaded.stdin), [])
    const [parsed] = parseWithLibyaml([uploaded.stdin])
    assert(parsed !== undefined && "documents" in parsed)
    const { value } = interpolatePipeline(parsed.documents[0], {}) as { value: { steps: ReadonlyArray<any> } }
    assert.deepStrictEqual(value.steps.map((step) => typeof step === "object" && "command" in step ? [step.agents, step.command] : step.block), [
      [{ system: "aarch64-linux" }, `nix run "\${TOOL_TARGET}" -- deploy --target '.#apps.aarch64-linux.deploy' --name staging`],
      "Continue to production?",
      [{ system: "aarch64-linux" }, `nix run "\${TOOL_TARGET}" -- deploy --target '.#apps.aarch64-linux.deploy' --name production --retries 1`]
    ])
  })

  it.each([
    {
      name: "the planning system's steps instead",
      stepData: declared("x86_64-linux"),
      error: `error: STEP_DATA.system: the flake at ${head.slice(0, 12)}, evaluated for x86_64-linux, "deployBot" deploys from aarch64-linux; a deploy runs only on the system the flake at its commit declares`
    },
    {
      name: "that system with the planning system's targets",
      stepData: { ...declared("aarch64-linux"), steps: declared("x86_64-linux").steps },
      error: `error: STEP_DATA.steps[0].target: the flake at ${head.slice(0, 12)} declares ".#apps.aarch64-linux.deploy" for "deployBot", STEP_DATA has ".#apps.x86_64-linux.deploy"`
    },
    {
      name: "a system the flake does not cover",
      stepData: declared("riscv64-linux"),
      error: "no actions for system riscv64-linux (declared for aarch64-linux, x86_64-linux)"
    }
  ])("refuses STEP_DATA naming $name: exit 2, nothing uploaded", ({ stepData, error }) => {
    const run = deployWith(stepData)
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, error)
    assert.deepStrictEqual(run.agentCalls, [])
  })

  it("refuses --system naming another system than STEP_DATA's", () => {
    const run = deployWith(declared("aarch64-linux"), ["--system", "x86_64-linux"])
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, `error: --system: this deploy build deploys "deployBot" from "aarch64-linux" (STEP_DATA.system)`)
  })

  it.each([
    {
      name: "a misspelt system",
      action: deploying("aarch64-linx"),
      errors: [`ciActions.deployBot.deploySystem: expected one of aarch64-linux, x86_64-linux, got "aarch64-linx" (did you mean "aarch64-linux"?)`]
    },
    {
      name: "a target that is not that system's output",
      action: deploying("aarch64-linux", "self.apps.x86_64-linux.deploy"),
      errors: ["ciActions.deployBot.deploySteps[0].target: the app with program", "is not one of this flake's apps for aarch64-linux"]
    }
  ])("exits 2 on $name, naming the action's place, nothing uploaded", ({ action, errors }) => {
    const broken = repo.commit(`broken: ${action}`, { "flake.nix": flakeWith("3", action) })
    const run = runTool(["plan", "--base", base, "--head", broken], { cwd: repo.dir, env: { BUILDKITE: "true", BUILDKITE_BRANCH: "master" } })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    for (const error of errors) assert.include(run.stderr, error)
    assert.deepStrictEqual(run.agentCalls, [])
  })
})
