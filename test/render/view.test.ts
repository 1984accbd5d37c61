import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Build } from "../../src/domain/BuildkiteBuild.ts"
import { buildStatus, makeView, rank } from "../../src/render/view.ts"
import { blockJobId, buildSummary, checkResult, ciBuild, ciBuildId, deployBuild, deployBuildId, derivationResult, type Stage } from "../support/ciLifecycle.ts"
import { type BuildSpec, restBuild } from "../support/fakeBuildkite.ts"

const decode = Schema.decodeUnknownSync(Build)
const rest = (spec: BuildSpec) => decode(restBuild(spec))
const viewAt = (stage: Stage) => makeView(rest(ciBuild(stage)), ["scheduled", "checking", "building", "built"].includes(stage) ? [] : [rest(deployBuild(stage))])
const rows = (view: ReturnType<typeof makeView>, build: number, section: string) =>
  view.builds[build]!.sections.find((candidate) => candidate.name === section)?.rows.map((row) => `${row.status} ${row.text}`)

describe("makeView", () => {
  it("shows a scheduled build's steps from its jobs, before any result is recorded", () => {
    const view = viewAt("scheduled")
    assert.strictEqual(view.builds.length, 1)
    assert.strictEqual(view.builds[0]!.status, "waiting")
    assert.deepStrictEqual(rows(view, 0, "Checks"), ["waiting Lint bot"])
    assert.deepStrictEqual(rows(view, 0, "Builds"), ["waiting :nix: Build 2 derivations"])
  })

  it("shows each check and derivation from its recorded result", () => {
    const view = viewAt("built")
    assert.deepStrictEqual(rows(view, 0, "Checks"), ["passed Lint bot (4.2 s)"])
    assert.deepStrictEqual(rows(view, 0, "Builds"), ["passed `bot` (12.0 s)", "passed `deploy-bot` (12.0 s)"])
    assert.deepStrictEqual(view.approvals, [])
  })

  it("joins the deploy build: its steps, the block waiting for approval, and an approval to offer", () => {
    const view = viewAt("blocked")
    assert.strictEqual(view.builds.length, 2)
    assert.strictEqual(view.builds[1]!.title, "Deploy deployBot · deploy #103")
    assert.strictEqual(view.builds[1]!.status, "blocked")
    assert.deepStrictEqual(rows(view, 1, "Steps"), [
      "passed deploy enabled",
      "passed CI Bot: staging deploy after 2 attempts",
      "blocked Continue to CI Bot: production deploy?: waiting for approval",
      "waiting CI Bot: production deploy"
    ])
    assert.deepStrictEqual(view.approvals, [{ jobId: blockJobId, label: "Continue to CI Bot: production deploy?", buildId: deployBuildId }])
  })

  it("names who approved, and offers nothing once the block is passed", () => {
    const view = viewAt("finished")
    assert.strictEqual(view.builds[0]!.status, "passed")
    assert.strictEqual(view.builds[1]!.status, "passed")
    assert.include(rows(view, 1, "Steps")!, "passed Continue to CI Bot: production deploy?: approved by Keith Pitt")
    assert.deepStrictEqual(view.approvals, [])
  })

  it("says how each failure failed", () => {
    const spec = ciBuild("built")
    const failing: BuildSpec = {
      ...spec,
      state: "failed",
      metaData: {
        ...spec.metaData,
        "ci:check:lint-bot": checkResult("lint-bot", 1),
        "ci:build:packages.x86_64-linux.bot": derivationResult("packages.x86_64-linux.bot", "failed"),
        "ci:build:packages.x86_64-linux.deploy-bot": derivationResult("packages.x86_64-linux.deploy-bot", "dependency-failed", {
          failedDependencies: ["bot-1.0.0"]
        })
      }
    }
    const view = makeView(rest(failing), [])
    assert.strictEqual(view.builds[0]!.status, "failed")
    assert.deepStrictEqual(rows(view, 0, "Checks"), ["failed Lint bot: exit code 1 (4.2 s)"])
    assert.deepStrictEqual(rows(view, 0, "Builds"), [
      "failed `bot`: exit code 2",
      "skipped `deploy-bot`: bot-1.0.0 failed"
    ])
  })

  it("merges a split build set's shards into one list, each from its own summary, in the pipeline's order", () => {
    const spec = ciBuild("building")
    const shard = (n: number, state: string) => ({
      id: `job-build-${n}`,
      label: `:nix: Build x86_64-linux (${n}/3, 2 derivations)`,
      state,
      command: `nix run "\${TOOL_TARGET}" -- build --part shard-${n} -- '.#packages.x86_64-linux.p${n}a' '.#packages.x86_64-linux.p${n}b'`
    })
    const targets = (n: number) => [`packages.x86_64-linux.p${n}a`, `packages.x86_64-linux.p${n}b`]
    // An unsplit step whose installable's name holds what looks like a part is still unsplit.
    const unsplit = {
      id: "job-build-0",
      label: ":nix: Build 1 derivation",
      state: "passed",
      command: `nix run "\${TOOL_TARGET}" -- build -- '.#packages.x86_64-linux."p0 --part shard-2 "'`
    }
    const sharded: BuildSpec = {
      ...spec,
      jobs: [...spec.jobs.filter((job) => job.id !== "job-build"), unsplit, shard(1, "passed"), shard(2, "running"), shard(3, "passed")],
      metaData: {
        ...spec.metaData,
        // Shard 3 finished first: its summary and results are there; shard 2's is not yet.
        "ci:build-part:shard-3": buildSummary(targets(3)),
        "ci:build-part:shard-1": buildSummary(targets(1)),
        ...Object.fromEntries([...targets(1), ...targets(3)].map((target) => [`ci:build:${target}`, derivationResult(target, "built")])),
        "ci:build": buildSummary(['packages.x86_64-linux."p0 --part shard-2 "']),
        'ci:build:packages.x86_64-linux."p0 --part shard-2 "': derivationResult('packages.x86_64-linux."p0 --part shard-2 "', "built")
      }
    }
    assert.deepStrictEqual(rows(makeView(rest(sharded), []), 0, "Builds"), [
      "passed `\"p0 --part shard-2 \"` (12.0 s)",
      "passed `p1a` (12.0 s)",
      "passed `p1b` (12.0 s)",
      "running :nix: Build x86_64-linux (2/3, 2 derivations)",
      "passed `p3a` (12.0 s)",
      "passed `p3b` (12.0 s)"
    ])
  })

  it("reads every shard's summary, in the order of their parts, when it knows no build job", () => {
    const spec = ciBuild("built")
    const only = (n: number) => [`packages.x86_64-linux.p${n}`]
    const jobless: BuildSpec = {
      ...spec,
      jobs: spec.jobs.filter((job) => job.id !== "job-build"),
      metaData: {
        "ci:build-part:shard-10": buildSummary(only(10)),
        "ci:build-part:shard-2": buildSummary(only(2)),
        ...Object.fromEntries([...only(2), ...only(10)].map((target) => [`ci:build:${target}`, derivationResult(target, "built")]))
      }
    }
    assert.deepStrictEqual(rows(makeView(rest(jobless), []), 0, "Builds"), ["passed `p2` (12.0 s)", "passed `p10` (12.0 s)"])
  })

  it("says why each derivation changed, as the plan left it, escaped and short", () => {
    const spec = ciBuild("built")
    const lines = {
      "packages.x86_64-linux.bot": `version: "1.0.0" → "1.0.1"`,
      "packages.x86_64-linux.deploy-bot": `src: ./**bot**_[x](https://e.vil) <@1> changed; ${"y".repeat(200)}`
    }
    const view = makeView(rest({ ...spec, metaData: { ...spec.metaData, "ci:plan:why": JSON.stringify({ version: 1, lines }) } }), [])
    assert.deepStrictEqual(rows(view, 0, "Builds"), [
      `passed \`bot\` (12.0 s) · version: "1.0.0" → "1.0.1"`,
      `passed \`deploy-bot\` (12.0 s) · src: ./\\*\\*bot\\*\\*\\_\\[x\\]\\(https://e.vil\\) \\<@1\\> changed; ${"y".repeat(119 - "src: ./**bot**_[x](https://e.vil) <@1> changed; ".length)}…`
    ])
    // A value that is not the contract's is left out, not shown raw.
    const unreadable = makeView(rest({ ...spec, metaData: { ...spec.metaData, "ci:plan:why": "{\"lines\": 3}" } }), [])
    assert.deepStrictEqual(rows(unreadable, 0, "Builds"), ["passed `bot` (12.0 s)", "passed `deploy-bot` (12.0 s)"])
  })

  it("groups derivations by system when they are for several, a section each", () => {
    const spec = ciBuild("built")
    const targets = ["packages.x86_64-linux.bot", "packages.aarch64-linux.bot", "packages.x86_64-linux.deploy-bot", `packages."a*rm".lib`]
    const view = makeView(
      rest({
        ...spec,
        metaData: {
          ...spec.metaData,
          "ci:build": buildSummary(targets),
          ...Object.fromEntries(targets.map((target) => [`ci:build:${target}`, derivationResult(target, "built")]))
        }
      }),
      []
    )
    assert.deepStrictEqual(view.builds[0]!.sections.map((section) => section.name), ["Checks", "Builds (x86\\_64-linux)", "Builds (aarch64-linux)", "Builds (a\\*rm)"])
    assert.deepStrictEqual(rows(view, 0, "Builds (x86\\_64-linux)"), ["passed `bot` (12.0 s)", "passed `deploy-bot` (12.0 s)"])
    assert.deepStrictEqual(rows(view, 0, "Builds (aarch64-linux)"), ["passed `bot` (12.0 s)"])
    // One system: one section, as before.
    assert.deepStrictEqual(viewAt("built").builds[0]!.sections.map((section) => section.name), ["Checks", "Builds"])
  })

  it("falls back to the job's state when a result is unreadable, and reads quoted names", () => {
    const spec = ciBuild("building")
    const view = makeView(
      rest({
        ...spec,
        metaData: { "ci:check:it's": "{ not json" },
        jobs: [{ id: "quoted", label: "Check: it's", state: "failed", command: `nix run "\${TOOL_TARGET}" -- check --target '.#apps.x.y' --name 'it'\\''s'` }]
      }),
      []
    )
    assert.deepStrictEqual(rows(view, 0, "Checks"), ["failed it's"])
  })

  it("takes the details line's parts from the build", () => {
    const build = viewAt("checking").builds[0]!
    assert.strictEqual(build.id, ciBuildId)
    assert.strictEqual(build.title, "my-pipeline #7")
    assert.strictEqual(build.commit, "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8")
    assert.strictEqual(build.branch, "main")
    assert.strictEqual(build.message, "Bumping to version 0.2-beta.6")
    assert.strictEqual(build.createdAt, Date.parse("2015-05-09T21:05:59.874Z") / 1000 | 0)
    assert.deepStrictEqual(build.author, { name: "Keith Pitt", iconUrl: "https://www.gravatar.com/avatar/e14f55d3f939977cecbf51b64ff6f861" })
  })
})

describe("rank", () => {
  it("orders waiting before running and blocked, and those before every end", () => {
    assert.isBelow(rank("waiting"), rank("running"))
    assert.strictEqual(rank("running"), rank("blocked"))
    for (const end of ["passed", "failed", "canceled", "skipped"] as const) assert.isAbove(rank(end), rank("running"))
  })

  it("reads a blocked build as blocked, and a blocked build that failed as failed", () => {
    assert.strictEqual(buildStatus(rest(deployBuild("blocked"))), "blocked")
    assert.strictEqual(buildStatus(rest({ ...deployBuild("blocked"), state: "failed" })), "failed")
  })
})
