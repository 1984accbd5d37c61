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
      builds.map((step) => [step.label, step.agents, step.command]),
      systems.map((system) => [
        `:nix: Build 1 derivation (${system})`,
        { system },
        `nix run "$\${TOOL_TARGET}" -- build -- '.#packages.${system}.lib'`
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
