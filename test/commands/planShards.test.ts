import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { Build } from "../../src/domain/BuildkiteBuild.ts"
import { BuildSummary } from "../../src/domain/results.ts"
import { makeView } from "../../src/render/view.ts"
import { keyPair, otherAgent } from "../support/agents.ts"
import { restBuild } from "../support/fakeBuildkite.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { parseWithLibyaml, pipelineErrors, yamlPipelineErrors } from "../support/pipelineSchema.ts"
import { runTool, runToolAsync } from "../support/tool.ts"

/**
 * A build set too large for one step, for real: 600 derivations in 100 groups, each a
 * library no output names and five packages that use it (one through another), split by
 * `tool plan` into shards, and the shards' `tool build`s run at once, each on an agent
 * with an empty store of its own, against one `file://` cache. Every builder appends its
 * name to one marks file, so the test counts what was built, and in what order.
 */

const scratch = mkdtempSync(join(tmpdir(), "ci-shards-"))
const marks = join(scratch, "marks")
const salt = `${Date.now()}-${process.pid}`
const groups = 100

const flakeAt = (version: string) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux = let
        group = g: let
          mark = name: "echo ${"${name}"} >> ${marks}";
          lib = sh "lib-\${g}" "\${mark "lib-\${g}"}; echo ${version} ${salt} > $out";
          pkg = k: dep: sh "p-\${g}-\${k}" "\${mark "p-\${g}-\${k}"}; echo \${dep} > $out";
          first = pkg "0" lib;
        in [ { name = "p-\${g}-0"; value = first; } { name = "p-\${g}-1"; value = pkg "1" first; } ]
          ++ map (k: { name = "p-\${g}-\${k}"; value = pkg k lib; }) [ "2" "3" "4" ];
      in builtins.listToAttrs (builtins.concatLists (builtins.genList (g: group (toString g)) ${groups}));`
  })

interface PlanJson {
  readonly changed: ReadonlyArray<{ readonly attrPath: string; readonly headDrvPath: string | null }>
  readonly pipeline: { readonly steps: ReadonlyArray<any> }
}

/** A generated build step's part and installables, from its command. */
const buildArgs = (command: string) => {
  const words = command.slice(command.indexOf(" -- build ") + " -- build ".length).split(" ").map((word) => word.replace(/^'|'$/g, ""))
  const part = words[0] === "--part" ? words[1]! : undefined
  return { part, installables: words.slice(words.indexOf("--") + 1) }
}

const requisiteDerivations = (drvPaths: ReadonlyArray<string>): ReadonlyArray<string> =>
  execFileSync("nix-store", ["--query", "--requisites", ...drvPaths], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\n")
    .filter((line) => line.endsWith(".drv"))

describe("a build set split into shards", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const base = repo.commit("first", { "flake.nix": flakeAt("1") })
  repo.commit("second", { "flake.nix": flakeAt("2") })

  const planRun = runTool(["plan", "--dry-run", "--format", "json", "--base", base], { cwd: repo.dir })
  const planned = JSON.parse(planRun.stdout || "{}") as PlanJson
  const buildSteps = (planned.pipeline?.steps ?? []).filter((step) => typeof step === "object" && String(step.key).startsWith("build-"))
  const drvOf = new Map(planned.changed?.map((change) => [change.attrPath, change.headDrvPath!]))
  const shards = buildSteps.map((step) => {
    const { part, installables } = buildArgs(step.command)
    const derivations = requisiteDerivations(installables.map((installable) => drvOf.get(installable.replace(/^\.#/, ""))!))
    return { step, part, installables, derivations }
  })

  it("plans a step per shard, each saying which share it builds, every derivation in one", () => {
    assert.strictEqual(planRun.exitCode, 0, planRun.stderr)
    assert.deepStrictEqual(pipelineErrors(planned.pipeline), [])
    // 100 connected groups of 6: 4 shards of 25 groups (3 would hold 34 groups, 204 derivations, in one).
    assert.deepStrictEqual(
      buildSteps.map((step) => [step.label, step.key]),
      [1, 2, 3, 4].map((n) => [`:nix: Build x86_64-linux (${n}/4, 150 derivations)`, `build-nix-${n}`])
    )
    assert.deepStrictEqual(shards.map((shard) => shard.part), ["shard-1", "shard-2", "shard-3", "shard-4"])
    const installables = shards.flatMap((shard) => shard.installables)
    assert.strictEqual(installables.length, groups * 5)
    assert.strictEqual(new Set(installables).size, groups * 5)
    const derivations = shards.flatMap((shard) => shard.derivations)
    assert.strictEqual(derivations.length, groups * 6)
    assert.strictEqual(new Set(derivations).size, groups * 6)
    for (const shard of shards) assert.strictEqual(shard.derivations.length, 150)
  })

  it("keeps a build set within CI_BUILD_SHARD_SIZE in one step, a connected set over it whole, and refuses a size that is no number", () => {
    const whole = runTool(["plan", "--dry-run", "--format", "json", "--base", base], { cwd: repo.dir, env: { CI_BUILD_SHARD_SIZE: "600" } })
    assert.strictEqual(whole.exitCode, 0, whole.stderr)
    const steps = (JSON.parse(whole.stdout) as PlanJson).pipeline.steps.filter((step) => String(step.key).startsWith("build-"))
    assert.deepStrictEqual(steps.map((step) => step.label), [":nix: Build 500 derivations"])
    // Groups of 6 over a limit of 5: each group whole in a step of its own, and said.
    const small = runTool(["plan", "--dry-run", "--format", "json", "--base", base], { cwd: repo.dir, env: { CI_BUILD_SHARD_SIZE: "5" } })
    assert.strictEqual(small.exitCode, 0, small.stderr)
    const smallPlan = JSON.parse(small.stdout) as PlanJson & { warnings: ReadonlyArray<string> }
    const smallSteps = smallPlan.pipeline.steps.filter((step) => String(step.key).startsWith("build-"))
    assert.strictEqual(smallSteps.length, groups)
    assert.strictEqual(smallSteps[0].label, `:nix: Build x86_64-linux (1/${groups}, 6 derivations, all connected: not split)`)
    assert.include(
      smallPlan.warnings,
      `${groups} sets of derivations for "x86_64-linux" bound together by their dependencies are larger than CI_BUILD_SHARD_SIZE (5), and built whole, each in one step: ${Array(groups).fill(6).join(", ")} derivations`
    )
    const bad = runTool(["plan", "--dry-run", "--base", base], { cwd: repo.dir, env: { CI_BUILD_SHARD_SIZE: "lots" } })
    assert.strictEqual(bad.exitCode, 2, bad.stderr)
    assert.include(bad.stderr, `CI_BUILD_SHARD_SIZE: expected a whole number of derivations above 0, got "lots"`)
    const badPart = runTool(["build", "--part", "shard 1", "--", ".#packages.x86_64-linux.p-0-0"], { cwd: repo.dir })
    assert.strictEqual(badPart.exitCode, 2, badPart.stderr)
    assert.include(badPart.stderr, "--part: expected letters, digits")
  })

  it("uploads YAML that libyaml reads as the same pipeline", () => {
    const yaml = runTool(["plan", "--dry-run", "--base", base], { cwd: repo.dir })
    assert.strictEqual(yaml.exitCode, 0, yaml.stderr)
    assert.deepStrictEqual(yamlPipelineErrors(yaml.stdout), [])
    const [parsed] = parseWithLibyaml([yaml.stdout])
    assert(parsed !== undefined && "documents" in parsed)
    const steps = (parsed.documents[0] as { steps: ReadonlyArray<any> }).steps.filter((step) => String(step.key).startsWith("build-"))
    assert.deepStrictEqual(steps.map((step) => step.label), buildSteps.map((step) => step.label))
  })

  it("builds each derivation once when the shards run at once on agents sharing a cache, and merges their results", async () => {
    const signing = keyPair(scratch, "ci-shards-1")
    const cacheDir = join(scratch, "cache")
    const agentState = join(scratch, "meta-data")
    const runs = await Promise.all(shards.map((shard, i) =>
      runToolAsync(["build", "--part", shard.part!, "--", ...shard.installables], {
        cwd: repo.dir,
        agentState,
        wrapper: otherAgent(scratch, `shard-${i + 1}`),
        env: {
          BUILDKITE: "true",
          CI_NIX_CACHE: `file://${cacheDir}`,
          CI_NIX_SIGNING_KEY_FILE: signing.secretFile,
          CI_NIX_CACHE_PUBLIC_KEY: signing.publicKey
        }
      })
    ))
    for (const run of runs) assert.strictEqual(run.exitCode, 0, run.stderr)

    // Each builder ran once, and within a group after what it depends on.
    const lines = readFileSync(marks, "utf8").split("\n").filter((line) => line !== "")
    assert.strictEqual(lines.length, groups * 6)
    assert.strictEqual(new Set(lines).size, groups * 6)
    for (let g = 0; g < groups; g++) {
      const at = (name: string) => lines.indexOf(name)
      for (const k of [0, 2, 3, 4]) assert.isBelow(at(`lib-${g}`), at(`p-${g}-${k}`))
      assert.isBelow(at(`p-${g}-0`), at(`p-${g}-1`))
    }
    // Every output reached the cache, for the steps after.
    assert.strictEqual(readdirSync(cacheDir).filter((file) => file.endsWith(".narinfo")).length, groups * 6)

    // Each shard's summary and annotation are its own; together they are the whole build.
    const metaData = Object.fromEntries(readdirSync(agentState).map((file) => [decodeURIComponent(file), readFileSync(join(agentState, file), "utf8")]))
    assert.notProperty(metaData, "ci:build")
    const summaries = shards.map((shard) => Schema.decodeUnknownSync(Schema.fromJsonString(BuildSummary))(metaData[`ci:build-part:${shard.part}`]))
    // Counts are of targets: 125 packages a shard, with their 25 libraries.
    assert.deepStrictEqual(summaries.map((summary) => summary.counts.built), [125, 125, 125, 125])
    assert.deepStrictEqual(
      summaries.flatMap((summary) => summary.targets).sort(),
      shards.flatMap((shard) => shard.installables).map((installable) => installable.replace(/^\.#/, "")).sort()
    )
    const contexts = runs.flatMap((run) => run.agentCalls.filter((call) => call.args[0] === "annotate").map((call) => call.args[call.args.indexOf("--context") + 1]))
    assert.deepStrictEqual(contexts, shards.map((shard) => `ci-build-${shard.part}`))

    // As the bot shows it: one row per derivation, every one built.
    const build = Schema.decodeUnknownSync(Build)(restBuild({
      id: "0190c0de-0000-4000-8000-000000000007",
      pipeline: "ci",
      number: 7,
      state: "passed",
      metaData,
      jobs: buildSteps.map((step, i) => ({ id: `job-${i}`, label: step.label, state: "passed", command: step.command.replaceAll("$$", "$") }))
    }))
    const rows = makeView(build, []).builds[0]!.sections.find((section) => section.name === "Builds")!.rows
    assert.strictEqual(rows.length, groups * 5)
    assert.isTrue(rows.every((row) => row.status === "passed"))
  }, 600_000)
})
