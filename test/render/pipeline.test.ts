import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { parse } from "yaml"
import type { StepData } from "../../src/domain/StepData.ts"
import type { CiPlan } from "../../src/plan/Plan.ts"
import type { Shard } from "../../src/plan/shards.ts"
import {
  type CommandStep,
  keyMaker,
  type Pipeline,
  type PipelineSettings,
  renderCiPipeline as renderCiResult,
  renderDeployPipeline as renderDeployResult,
  type Step
} from "../../src/render/pipeline.ts"
import { maxStepsPerUpload, pipelineDocument, pipelineUpload, uploadYaml } from "../../src/render/yaml.ts"
import { runBuild } from "../support/buildkiteBuild.ts"
import { hostileStrings } from "../support/hostile.ts"
import { repoRoot } from "../support/paths.ts"
import { pipelineErrors, pipelinesErrors, yamlPipelineErrors } from "../support/pipelineSchema.ts"

const renderCiPipeline = (plan: CiPlan, settings: PipelineSettings, shards?: ReadonlyMap<string, ReadonlyArray<Shard>>) =>
  Result.getOrThrow(renderCiResult(plan, settings, shards))
const renderDeployPipeline = (data: StepData, settings: PipelineSettings, options: { readonly routed?: boolean } = {}) =>
  Result.getOrThrow(renderDeployResult(data, settings, options))

const settings: PipelineSettings = {
  toolTarget: "github:denbeigh2000/ci#apps.x86_64-linux.tool",
  deployPipeline: "deploy",
  systemTag: "system",
  plugin: "denbeigh2000/cicd",
  repo: undefined,
  branch: "master",
  pipelineSlug: undefined,
  buildNumber: undefined,
  buildId: undefined,
  message: undefined
}

const emptyPlan: CiPlan = {
  system: "x86_64-linux",
  otherSystems: [],
  flakeDir: ".",
  head: "a".repeat(40),
  base: { _tag: "Unavailable", sha: undefined, reason: "test", choice: "test" },
  changed: [],
  actions: [],
  checks: [],
  builds: [],
  deploys: [],
  warnings: []
}

describe("the reference schema", () => {
  it("is the official one, byte for byte", () => {
    const copy = readFileSync(`${repoRoot}test/fixtures/buildkite-pipeline-schema.json`)
    assert.strictEqual(createHash("sha256").update(copy).digest("hex"), "ccd18cb3456e184da076ae40ce917ef3cedd78a312dd3f07a6a7a2d5080c7ea9")
    const shared = `${repoRoot}../shared/reference/buildkite-pipeline-schema.json`
    if (existsSync(shared)) assert.isTrue(readFileSync(shared).equals(copy))
  })

  it("rejects what Buildkite rejects", () => {
    assert.isNotEmpty(pipelineErrors({ steps: [{ trigger: "deploy", plugins: [] }] }))
    assert.isNotEmpty(pipelineErrors({ steps: [{ command: "x", key: "a".repeat(101) }] }))
  })
})

describe("renderCiPipeline", () => {
  it("renders no steps for an empty plan", () => {
    const { pipeline, metaData } = renderCiPipeline(emptyPlan, settings)
    assert.deepStrictEqual(pipeline, { steps: [] })
    assert.deepStrictEqual(metaData, [])
    assert.strictEqual(pipelineDocument(pipeline), "steps: []\n")
  })

  it("gives checks that differ only in punctuation distinct, valid keys", () => {
    const check = (name: string) => ({ name, displayName: name, target: ["apps", "x86_64-linux", "lint"], actions: ["a"] })
    const { pipeline } = renderCiPipeline({ ...emptyPlan, checks: [check("lint bot"), check("lint/bot"), check("lint-bot"), check("ü".repeat(120))] }, settings)
    const keys = pipeline.steps.map((step) => (typeof step === "string" ? step : step.key))
    assert.deepStrictEqual(keys, ["check-lint-bot", "check-lint-bot-2", "check-lint-bot-3", "check"])
    assert.deepStrictEqual(pipelineErrors(pipeline), [])
  })

  it("tells each deploy build which CI build triggered it, when Buildkite says", () => {
    const deploys: CiPlan["deploys"] = [{ version: 1, action: "deployBot", system: "x86_64-linux", steps: [] }]
    const env = (extra: Partial<PipelineSettings>) => {
      const step = renderCiPipeline({ ...emptyPlan, deploys }, { ...settings, ...extra }).pipeline.steps.at(-1) as { build: { env: Record<string, string> } }
      return Object.fromEntries(Object.entries(step.build.env).filter(([key]) => key.startsWith("DENBEIGH_SOURCE_")))
    }
    assert.deepStrictEqual(env({ buildId: "0190c0de-0000-4000-8000-000000000007", pipelineSlug: "my-pipeline", buildNumber: "7" }), {
      DENBEIGH_SOURCE_BUILD_ID: "0190c0de-0000-4000-8000-000000000007",
      DENBEIGH_SOURCE_PIPELINE: "my-pipeline",
      DENBEIGH_SOURCE_BUILD_NUMBER: "7"
    })
    assert.deepStrictEqual(env({ buildId: "0190c0de-0000-4000-8000-000000000007" }), {}, "all three, or none: a local dry run has none")
  })

  it("leaves the plugin out when none is configured", () => {
    const { pipeline } = renderCiPipeline(
      { ...emptyPlan, builds: [{ attrPath: ["packages", "x86_64-linux", "bot"], reasons: [] }] },
      { ...settings, plugin: undefined }
    )
    assert.notProperty(pipeline.steps[0], "plugins")
    assert.deepStrictEqual(pipelineErrors(pipeline), [])
  })
})

describe("a build of more installables than one command line carries", () => {
  const builds = Array.from({ length: 6000 }, (_, i) => ({ attrPath: ["packages", "x86_64-linux", `package-number-${i}`], reasons: [] }))
  const { pipeline, metaData } = renderCiPipeline({ ...emptyPlan, builds }, settings)

  it("reads them from meta-data", () => {
    const step = pipeline.steps[0] as { command: string }
    assert.strictEqual(step.command, `nix run "$\${TOOL_TARGET}" -- build --from-meta-data ci:plan:builds`)
    assert.deepStrictEqual(pipelineErrors(pipeline), [])
  })

  it("splits them into values Buildkite accepts, in order", () => {
    const [head, ...chunks] = metaData
    const index = JSON.parse(head!.value)
    assert.deepStrictEqual(index, { version: 1, chunks: chunks.length, count: 6000 })
    assert.isAbove(chunks.length, 1)
    for (const chunk of chunks) assert.isAtMost(Buffer.byteLength(chunk.value), 100_000)
    assert.deepStrictEqual(chunks.map((chunk) => chunk.key), chunks.map((_, i) => `ci:plan:builds:${i}`))
    const all = chunks.flatMap((chunk) => JSON.parse(chunk.value))
    assert.deepStrictEqual(all, builds.map((build) => `.#${build.attrPath.join(".")}`))
  })
})

describe("a build set split into shards", () => {
  const packages = (system: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ attrPath: ["packages", system, `p${i}`], reasons: [] }))
  const shard = (builds: ReadonlyArray<{ attrPath: ReadonlyArray<string> }>, derivations: number, oversized = false): Shard => ({
    targets: builds.map((build) => build.attrPath.join(".")),
    derivations: Array.from({ length: derivations }, (_, i) => `/nix/store/${i}.drv`),
    oversized
  })
  const linux = packages("x86_64-linux", 5)
  const arm = packages("aarch64-linux", 3000)
  const plan: CiPlan = {
    ...emptyPlan,
    builds: linux,
    otherSystems: [{ system: "aarch64-linux", builds: arm }],
    deploys: [{ version: 1, action: "deployBot", system: "x86_64-linux", steps: [] }]
  }
  const shards = new Map([
    ["x86_64-linux", [shard([linux[0]!, linux[2]!], 214), shard([linux[1]!, linux[3]!, linux[4]!], 150)]],
    ["aarch64-linux", [shard(arm.slice(0, 1500), 1500), shard(arm.slice(1500), 450, true)]]
  ])
  const { pipeline, metaData } = renderCiPipeline(plan, settings, shards)
  const steps = pipeline.steps.filter((step): step is CommandStep => typeof step === "object" && "command" in step)

  it("gives each shard a step saying which share it builds, on its system's agents", () => {
    assert.deepStrictEqual(steps.map((step) => [step.label, step.key, step.agents]), [
      [":nix: Build x86_64-linux (1/2, 214 derivations)", "build-nix-x86_64-linux-1", { system: "x86_64-linux" }],
      [":nix: Build x86_64-linux (2/2, 150 derivations)", "build-nix-x86_64-linux-2", { system: "x86_64-linux" }],
      [":nix: Build aarch64-linux (1/2, 1500 derivations)", "build-nix-aarch64-linux-1", { system: "aarch64-linux" }],
      [":nix: Build aarch64-linux (2/2, 450 derivations, all connected: not split)", "build-nix-aarch64-linux-2", { system: "aarch64-linux" }]
    ])
    assert.deepStrictEqual(pipelineErrors(pipeline), [])
    assert.deepStrictEqual(yamlPipelineErrors(pipelineDocument(pipeline)), [])
  })

  it("names each shard's installables, on its command line or in meta-data of its own", () => {
    assert.strictEqual(steps[0]!.command, `nix run "$\${TOOL_TARGET}" -- build --part system-0-shard-1 -- '.#packages.x86_64-linux.p0' '.#packages.x86_64-linux.p2'`)
    assert.strictEqual(steps[1]!.command, `nix run "$\${TOOL_TARGET}" -- build --part system-0-shard-2 -- '.#packages.x86_64-linux.p1' '.#packages.x86_64-linux.p3' '.#packages.x86_64-linux.p4'`)
    assert.strictEqual(steps[2]!.command, `nix run "$\${TOOL_TARGET}" -- build --part system-1-shard-1 --from-meta-data ci:plan:builds-system-1-shard-1`)
    const read = (key: string) => metaData.filter((entry) => entry.key.startsWith(`${key}:`)).flatMap((entry) => JSON.parse(entry.value))
    assert.deepStrictEqual(read("ci:plan:builds-system-1-shard-1"), arm.slice(0, 1500).map((build) => `.#${build.attrPath.join(".")}`))
    assert.deepStrictEqual(read("ci:plan:builds-system-1-shard-2"), arm.slice(1500).map((build) => `.#${build.attrPath.join(".")}`))
  })

  it("runs what follows only once every shard is done", () => {
    const trigger = pipeline.steps.findIndex((step) => typeof step === "object" && "trigger" in step)
    assert.strictEqual(pipeline.steps[trigger - 1], "wait")
    assert.isTrue(pipeline.steps.slice(0, trigger - 1).every((step) => typeof step === "object" && "command" in step))
  })
})

describe("renderDeployPipeline", () => {
  const data: StepData = {
    version: 1,
    action: "deploy",
    system: "x86_64-linux",
    steps: [
      { type: "run", name: "a", label: "A", target: ".#apps.x86_64-linux.a", retries: 0 },
      { type: "wait" },
      { type: "block", label: null, prompt: "Sure?" },
      { type: "block", label: "Last chance", prompt: null }
    ]
  }

  it("turns run, wait and block into command, wait and block steps", () => {
    const pipeline = renderDeployPipeline(data, settings)
    assert.deepStrictEqual(pipelineErrors(pipeline), [])
    assert.strictEqual(pipeline.steps[1], "wait")
    assert.deepStrictEqual(pipeline.steps[2], { block: "Continue the deploy?", key: "block-2", prompt: "Sure?" })
    assert.deepStrictEqual(pipeline.steps[3], { block: "Last chance", key: "block-3" })
  })

  it("routes its command steps to the agents of the system it deploys from, when told to", () => {
    const agentsOf = (pipeline: Pipeline) => pipeline.steps.flatMap((step) => (typeof step === "object" && "command" in step ? [step.agents] : []))
    assert.deepStrictEqual(agentsOf(renderDeployPipeline({ ...data, system: "aarch64-linux" }, settings)), [undefined])
    const routed = renderDeployPipeline({ ...data, system: "aarch64-linux" }, { ...settings, systemTag: "arch" }, { routed: true })
    assert.deepStrictEqual(agentsOf(routed), [{ arch: "aarch64-linux" }])
    assert.deepStrictEqual(pipelineErrors(routed), [])
  })
})

describe("keyMaker", () => {
  it("makes keys that stay unique across many names", () => {
    const key = keyMaker()
    const keys = Array.from({ length: 50 }, () => key("deploy", "same"))
    assert.strictEqual(new Set(keys).size, 50)
  })
})

describe("hostile text, in every place a pipeline carries it", () => {
  const deploy = (data: Partial<StepData> = {}, run: Partial<StepData["steps"][number]> = {}, block: { label?: string; prompt?: string } = {}): StepData => ({
    version: 1,
    action: "deployBot",
    system: "x86_64-linux",
    steps: [
      { type: "run", name: "staging", label: "Staging", target: ".#apps.x86_64-linux.deploy", retries: 1, ...run } as StepData["steps"][number],
      { type: "block", label: block.label ?? null, prompt: block.prompt ?? null },
      { type: "wait" }
    ],
    ...data
  })
  const check = (fields: Partial<CiPlan["checks"][number]> = {}) => ({
    name: "lint",
    displayName: "Lint",
    target: ["apps", "x86_64-linux", "lint"],
    actions: ["deployBot"],
    ...fields
  })
  const ci = (plan: Partial<CiPlan>, extra: Partial<PipelineSettings> = {}, shards?: ReadonlyMap<string, ReadonlyArray<Shard>>) =>
    renderCiPipeline(
      { ...emptyPlan, checks: [check()], builds: [{ attrPath: ["packages", "x86_64-linux", "bot"], reasons: [] }], deploys: [deploy()], ...plan },
      { ...settings, pipelineSlug: "ci", buildNumber: "7", buildId: "0190c0de-0000-4000-8000-000000000007", message: "Fix", ...extra },
      shards
    ).pipeline
  const shardedSystem = (system: string) => {
    const builds = ["a", "b"].map((name) => ({ attrPath: ["packages", system, name], reasons: [] }))
    const shards = builds.map((build): Shard => ({ targets: [build.attrPath.join(".")], derivations: ["/nix/store/x.drv"], oversized: false }))
    return ci({ otherSystems: [{ system, builds }] }, {}, new Map([[system, shards]]))
  }
  const places: ReadonlyArray<readonly [string, (text: string) => Pipeline]> = [
    ["check name", (text) => ci({ checks: [check({ name: text })] })],
    ["check display name", (text) => ci({ checks: [check({ displayName: text })] })],
    ["package attribute name in a check's target", (text) => ci({ checks: [check({ target: ["packages", "x86_64-linux", text] })] })],
    ["package attribute name in the build", (text) => ci({ builds: [{ attrPath: ["packages", "x86_64-linux", text], reasons: [] }] })],
    ["system name in a split build's labels and keys", shardedSystem],
    ["system name in an unsplit build step's label, key and agent tag", (text) =>
      ci({ otherSystems: [{ system: text, builds: [{ attrPath: ["packages", text, "bot"], reasons: [] }] }] })],
    ["action name", (text) => ci({ deploys: [deploy({ action: text })] })],
    ["deploy step name in STEP_DATA", (text) => ci({ deploys: [deploy({}, { name: text })] })],
    ["deploy step label in STEP_DATA", (text) => ci({ deploys: [deploy({}, { label: text })] })],
    ["block label in STEP_DATA", (text) => ci({ deploys: [deploy({}, {}, { label: text })] })],
    ["block prompt in STEP_DATA", (text) => ci({ deploys: [deploy({}, {}, { prompt: text })] })],
    ["branch (and tag: a tag build's branch is the tag)", (text) => ci({}, { branch: text })],
    ["commit message", (text) => ci({}, { message: `${text}\nsecond line` })],
    ["repository", (text) => ci({}, { repo: text })],
    ["plugin name", (text) => ci({}, { plugin: text })],
    ["tool target", (text) => ci({}, { toolTarget: text })],
    ["deploy pipeline slug", (text) => ci({}, { deployPipeline: text })],
    ["pipeline slug and build number", (text) => ci({}, { pipelineSlug: text, buildNumber: text })],
    ["build id", (text) => ci({}, { buildId: text })],
    ["deploy pipeline: action name", (text) => renderDeployPipeline(deploy({ action: text }), settings)],
    ["deploy pipeline: step name", (text) => renderDeployPipeline(deploy({}, { name: text }), settings)],
    ["deploy pipeline: step label", (text) => renderDeployPipeline(deploy({}, { label: text }), settings)],
    ["deploy pipeline: step target", (text) => renderDeployPipeline(deploy({}, { target: `.#apps.x86_64-linux.${text}` }), settings)],
    ["deploy pipeline: block label", (text) => renderDeployPipeline(deploy({}, {}, { label: text }), settings)],
    ["deploy pipeline: block prompt", (text) => renderDeployPipeline(deploy({}, {}, { prompt: text }), settings)],
    ["deploy pipeline: the system it deploys from, as an agent tag", (text) => renderDeployPipeline(deploy({ system: text }), settings, { routed: true })],
    ["deploy pipeline: the system tag's name", (text) => renderDeployPipeline(deploy(), { ...settings, systemTag: text }, { routed: true })]
  ]
  // A NUL fits in no command line (tested below); everything else must render.
  const cases = places.flatMap(([place, render]) =>
    hostileStrings.filter((text) => !text.includes("\0")).map((text) => ({ place, text, pipeline: render(text) }))
  )

  it(`reads back as rendered with libyaml and YAML 1.2, and validates: ${cases.length} cases`, () => {
    const errors = pipelinesErrors(cases.map((testCase) => testCase.pipeline))
    const failures = cases.flatMap((testCase, i) => errors[i]!.length === 0 ? [] : [`${testCase.place} ${JSON.stringify(testCase.text)}: ${errors[i]!.join("; ")}`])
    assert.deepStrictEqual(failures, [])
  })
})

describe("a command line cannot carry a NUL", () => {
  it("is refused, naming the STEP_DATA step, never thrown", () => {
    const data: StepData = { version: 1, action: "a", system: "x86_64-linux", steps: [{ type: "wait" }, { type: "run", name: "x", label: "X", target: ".#apps.x86_64-linux.x\0y", retries: 0 }] }
    const result = renderDeployResult(data, settings)
    assert.isTrue(Result.isFailure(result))
    const error = (result as Result.Failure<Pipeline, { message: string; place: string }>).failure
    assert.strictEqual(error.place, "STEP_DATA.steps[1]")
    assert.include(error.message, `".#apps.x86_64-linux.x\\u0000y" contains a NUL character`)
  })

  it("is refused in a check's name, naming the check", () => {
    const result = renderCiResult({ ...emptyPlan, checks: [{ name: "a\0b", displayName: "A", target: ["apps", "x86_64-linux", "a"], actions: [] }] }, settings)
    assert.isTrue(Result.isFailure(result))
  })
})

describe("a pipeline over 500 steps", () => {
  const run = (i: number, label = `run ${i}`): Step => ({ label, key: `run-${i}`, command: "true", env: {} })
  const block = (i: number): Step => ({ block: `Continue past ${i}?`, key: `block-${i}` })
  const pipelineOf = (length: number, gates: ReadonlyMap<number, Step>): Pipeline => ({
    steps: Array.from({ length }, (_, i) => gates.get(i) ?? run(i))
  })
  const partKey = (command: string) => /meta-data get (\S+) \| buildkite-agent pipeline upload$/.exec(command)?.[1]

  /** Upload as the planning job would, then run each part's last step as Buildkite would. */
  const build = (pipeline: Pipeline) => {
    const upload = Result.getOrThrow(pipelineUpload(pipeline))
    const parts = new Map(upload.parts.map((part) => [part.key, part.value]))
    return { upload, run: runBuild(pipeline.steps, [upload.document], (step) => [parts.get(partKey(step.command)!)!]) }
  }

  it("is one upload up to 500 steps", () => {
    const upload = Result.getOrThrow(pipelineUpload(pipelineOf(maxStepsPerUpload, new Map())))
    assert.deepStrictEqual(upload.parts, [])
    assert.strictEqual(parse(upload.document).steps.length, 500)
  })

  it("never has production without its block before it: 499 runs, a block, then production", () => {
    const pipeline = pipelineOf(501, new Map([[499, block(499)], [500, run(500, "production")]]))
    const { upload, run: result } = build(pipeline)
    assert.deepStrictEqual(result.problems, [])
    assert.deepStrictEqual(result.steps, pipeline.steps)
    assert.deepStrictEqual(result.uploads, [500, 2])
    // The first upload ends with the step that uploads the rest, after all 499 runs.
    const first = parse(upload.document).steps
    assert.deepStrictEqual(first.at(-1), { label: "Upload part 2 of the pipeline", key: "pipeline-part-2", command: "set -o pipefail; buildkite-agent meta-data get ci:plan:pipeline:2 | buildkite-agent pipeline upload" })
    assert.deepStrictEqual(parse(upload.parts[0]!.value).steps, [block(499), run(500, "production")])
    assert.deepStrictEqual(yamlPipelineErrors(uploadYaml(upload)), [])
  })

  it("would open the gate early if the planning job uploaded every part itself, last first (as before)", () => {
    // The check above can fail: the old way, all documents from one job, breaks it.
    const pipeline = pipelineOf(501, new Map([[499, block(499)], [500, run(500, "production")]]))
    const documents = [pipeline.steps.slice(0, 500), pipeline.steps.slice(500)].map((steps) => pipelineDocument({ steps }))
    const result = runBuild(pipeline.steps, [...documents].reverse(), () => [])
    assert.match(result.problems[0] ?? "", /^after upload 1, the build holds .*production.* at step 0/)
  })

  // A gate just before, at and after every boundary of 500, and of the parts (499 steps and their uploader).
  const positions = [500, 1000, 1500].flatMap((boundary) => Array.from({ length: 8 }, (_, i) => boundary - 4 + i))
  const gates = [
    ["a block", block],
    ["a wait", () => "wait" as const]
  ] as const
  it.each(positions.flatMap((position) => gates.map(([kind, gate]) => ({ position, kind, gate }))))(
    "keeps $kind at step $position ahead of every step after it",
    ({ position, gate }) => {
      const pipeline = pipelineOf(1600, new Map([[position, gate(position)], [position + 1, run(position + 1, "production")]]))
      const { upload, run: result } = build(pipeline)
      assert.deepStrictEqual(result.problems, [])
      assert.deepStrictEqual(result.steps, pipeline.steps)
      assert.isTrue(result.uploads.every((count) => count <= 500))
      assert.strictEqual(upload.parts.length, 3)
    }
  )

  it("keeps each later part within one meta-data value", () => {
    // Steps of about 1 KB: the parts after the first are cut by size, not by count.
    const pipeline = pipelineOf(800, new Map([[650, block(650)]]).set(0, run(0)))
    const large: Pipeline = { steps: pipeline.steps.map((step, i) => (typeof step === "string" || "block" in step ? step : run(i, `run ${i} ${"x".repeat(1000)}`))) }
    const { upload, run: result } = build(large)
    assert.deepStrictEqual(result.problems, [])
    assert.deepStrictEqual(result.steps, large.steps)
    assert.isAbove(upload.parts.length, 3)
    for (const part of upload.parts) assert.isAtMost(Buffer.byteLength(part.value), 90_000)
  })

  it("refuses a step too large for any later part, naming it", () => {
    const pipeline = pipelineOf(600, new Map([[550, run(550, "x".repeat(100_000))]]))
    const result = pipelineUpload(pipeline)
    assert.isTrue(Result.isFailure(result))
    assert.match((result as Result.Failure<unknown, { message: string }>).failure.message, /^pipeline step 551: its YAML takes \d+ bytes/)
  })
})
