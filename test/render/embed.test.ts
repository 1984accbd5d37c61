import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Build } from "../../src/domain/BuildkiteBuild.ts"
import { limits, renderMessage, rowLine } from "../../src/render/embed.ts"
import { type BuildView, makeView, type MessageView, type Row } from "../../src/render/view.ts"
import { buildSummary, ciBuild, derivationResult } from "../support/ciLifecycle.ts"
import { restBuild } from "../support/fakeBuildkite.ts"
import { discordLimitViolation } from "../support/fakeDiscord.ts"

const build = (overrides: Partial<BuildView> = {}): BuildView => ({
  id: "build-1",
  title: "my-pipeline #7",
  url: "https://buildkite.com/my-great-org/my-pipeline/builds/7",
  status: "running",
  author: { name: "Keith Pitt", iconUrl: "https://www.gravatar.com/avatar/e14f55d3f939977cecbf51b64ff6f861" },
  commit: "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8",
  branch: "main",
  message: "Bumping to version 0.2-beta.6\n\nThe long description.",
  createdAt: 1_763_700_000,
  sections: [],
  ...overrides
})

const derivations = (count: number): ReadonlyArray<Row> =>
  Array.from({ length: count }, (_, i) => ({
    status: i % 7 === 0 ? "failed" : "passed",
    text: `\`python3.12-package-number-${String(i).padStart(3, "0")}-1.0.0\`${i % 7 === 0 ? ": exit code 2" : " (12.0 s)"}`
  }))

/** The message as Discord receives it: JSON, where an undefined field is no field. */
const wire = (view: MessageView) => JSON.parse(JSON.stringify(renderMessage(view)))

/** Every row the message shows, and how many it says it left out. */
const shown = (fields: ReadonlyArray<{ name: string; value: string }>) => {
  const lines = fields.flatMap((field) => field.value.split("\n"))
  const more = lines.map((line) => /^…and (\d+) more$/.exec(line)).find((match) => match !== null)
  return { rows: lines.filter((line) => !line.startsWith("…and ")), more: more === undefined || more === null ? 0 : Number(more[1]) }
}

/**
 * The message with every row shown, each section's lines filling fields of up
 * to 1,024 characters in turn: if Discord would take it, nothing may be hidden.
 */
const everything = (builds: ReadonlyArray<BuildView>) => {
  const fill = (name: string, lines: ReadonlyArray<string>) =>
    lines.reduce<Array<string>>((values, next) => {
      const last = values.at(-1)
      if (last !== undefined && last.length + 1 + next.length <= limits.fieldValue) values[values.length - 1] = `${last}\n${next}`
      else values.push(next)
      return values
    }, []).map((value, k) => ({ name: k === 0 ? name : `${name} (${k + 1})`, value }))
  const headers = wire({ builds: builds.map((one) => ({ ...one, sections: [] })), approvals: [] }).embeds
  return {
    embeds: headers.map((embed: object, b: number) => ({ ...embed, fields: builds[b]!.sections.flatMap((section) => fill(section.name, section.rows.map(rowLine))) }))
  }
}

describe("renderMessage", () => {
  it("titles the embed with the status, the pipeline and the number, and links it", () => {
    const [embed] = wire({ builds: [build()], approvals: [] }).embeds
    assert.strictEqual(embed!.title, "🔄 my-pipeline #7")
    assert.strictEqual(embed!.url, "https://buildkite.com/my-great-org/my-pipeline/builds/7")
    assert.deepStrictEqual(embed!.author, { name: "Keith Pitt", icon_url: "https://www.gravatar.com/avatar/e14f55d3f939977cecbf51b64ff6f861" })
  })

  it("gives the short sha, the branch, the message's first line and a relative time", () => {
    const [embed] = renderMessage({ builds: [build()], approvals: [] }).embeds!
    assert.strictEqual(embed!.description, "`abcd0b7` (`main`) · Bumping to version 0.2-beta.6 · <t:1763700000:R>")
  })

  it("gives a deploy of the same commit only its time, and its author only when another", () => {
    const deploy = build({ id: "deploy-1", url: "https://buildkite.com/my-great-org/deploy/builds/103", createdAt: 1_763_700_600 })
    const [, same, other] = wire({ builds: [build(), deploy, { ...deploy, id: "deploy-2", url: "https://x/2", author: { name: "Someone Else", iconUrl: undefined } }], approvals: [] }).embeds
    assert.strictEqual(same.description, "<t:1763700600:R>")
    assert.isUndefined(same.author)
    assert.deepStrictEqual(other.author, { name: "Someone Else" })
  })

  it("shows every row when they fit, however short: two checks, five checks", () => {
    const checks = (...names: Array<string>) => names.map((name): Row => ({ status: "passed", text: name }))
    for (const rows of [checks("lint", "test"), checks("c1", "c2", "c3", "c4", "c5"), checks("x")]) {
      const message = wire({ builds: [build({ sections: [{ name: "Checks", rows }, { name: "Builds", rows: checks("b") }] })], approvals: [] })
      assert.deepStrictEqual(message.embeds[0].fields, [
        { name: "Checks", value: rows.map((row) => `✅ ${row.text}`).join("\n") },
        { name: "Builds", value: "✅ b" }
      ])
    }
  })

  it("keeps 300 derivations within every Discord limit, ending in how many are left out", () => {
    const message = renderMessage({
      builds: [build({ sections: [{ name: "Checks", rows: derivations(3) }, { name: "Builds", rows: derivations(300) }] })],
      approvals: []
    })
    assert.strictEqual(discordLimitViolation(message), undefined)
    const fields = message.embeds![0]!.fields!
    const builds = shown(fields.filter((field) => field.name.startsWith("Builds")))
    assert.isAbove(builds.rows.length, 50, "as many rows as fit are shown")
    assert.strictEqual(builds.rows.length + builds.more, 300)
    assert.strictEqual(builds.rows[0], "❌ `python3.12-package-number-000-1.0.0`: exit code 2")
    assert.deepStrictEqual(fields[0], { name: "Checks", value: derivations(3).map((row) => `${row.status === "failed" ? "❌" : "✅"} ${row.text}`).join("\n") })
  })

  it("groups two systems' derivations into a field each, within every Discord limit, accounting for every row", () => {
    const spec = ciBuild("built")
    const targetsOf = (system: string, count: number) => Array.from({ length: count }, (_, i) => `packages.${system}.package-number-${String(i).padStart(3, "0")}`)
    const view = (x86: number, arm: number) => {
      const targets = [...targetsOf("x86_64-linux", x86), ...targetsOf("aarch64-linux", arm)]
      return makeView(
        Schema.decodeUnknownSync(Build)(restBuild({
          ...spec,
          metaData: {
            ...spec.metaData,
            "ci:build": buildSummary(targets),
            ...Object.fromEntries(targets.map((target, i) => [`ci:build:${target}`, derivationResult(target, i % 5 === 0 ? "failed" : "built")]))
          }
        })),
        []
      )
    }
    const few = renderMessage(view(2, 1))
    assert.strictEqual(discordLimitViolation(few), undefined)
    assert.deepStrictEqual(few.embeds![0]!.fields!.map((field) => [field.name, field.value.split("\n").length]), [
      ["Checks", 1],
      ["Builds (x86\\_64-linux)", 2],
      ["Builds (aarch64-linux)", 1]
    ])
    // Too many to show: each system still has its field, and says how many it leaves out.
    const many = renderMessage(view(250, 150))
    assert.strictEqual(discordLimitViolation(many), undefined)
    const fields = many.embeds![0]!.fields!
    // Field names are Markdown: the system's underscore is escaped.
    for (const [system, count] of [["x86\\_64-linux", 250], ["aarch64-linux", 150]] as const) {
      const own = shown(fields.filter((field) => field.name.startsWith(`Builds (${system})`)))
      assert.isAbove(own.rows.length, 0, system)
      assert.strictEqual(own.rows.length + own.more, count, system)
    }
  })

  it("shares the 6,000 characters between a build and its deploys, each with its own URL", () => {
    const view: MessageView = {
      builds: [
        build({ sections: [{ name: "Builds", rows: derivations(300) }] }),
        build({ id: "deploy-1", title: "Deploy deployBot · deploy #103", url: "https://buildkite.com/my-great-org/deploy/builds/103", sections: [{ name: "Steps", rows: derivations(300) }] }),
        build({ id: "deploy-2", title: "Deploy other · deploy #104", url: "https://buildkite.com/my-great-org/deploy/builds/104", sections: [{ name: "Steps", rows: derivations(25) }] })
      ],
      approvals: []
    }
    const message = renderMessage(view)
    assert.strictEqual(discordLimitViolation(message), undefined)
    assert.deepStrictEqual(message.embeds!.map((embed) => embed.title), ["🔄 my-pipeline #7", "🔄 Deploy deployBot · deploy #103", "🔄 Deploy other · deploy #104"])
    const [root, deploy, other] = message.embeds!.map((embed) => shown(embed.fields ?? []))
    assert.deepStrictEqual(other, { rows: derivations(25).map((row) => `${row.status === "failed" ? "❌" : "✅"} ${row.text}`), more: 0 }, "a short list is whole")
    assert.strictEqual(root!.rows.length + root!.more, 300)
    assert.strictEqual(deploy!.rows.length + deploy!.more, 300)
    assert.isAtMost(Math.abs(root!.rows.length - deploy!.rows.length), 3, "the long lists share what is left")
  })

  it("stays within the limits, accounts for every row, and hides none when all fit, whatever the sizes", () => {
    // A seeded generator (mulberry32): the same 300 messages every run.
    let seed = 42
    const random = (below: number) => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * below)
    }
    const statuses = ["waiting", "running", "passed", "failed", "blocked", "canceled", "skipped"] as const
    // Labels short ("lint"), ordinary, and long enough to be clipped.
    const label = () => "r".repeat(1 + random([8, 60, 600][random(3)]!))
    let fitting = 0
    for (let round = 0; round < 300; round++) {
      const small = random(2) === 0
      const builds = Array.from({ length: 1 + random(small ? 3 : 12) }, (_, b) =>
        build({
          id: `build-${b}`,
          url: `https://buildkite.com/o/p/builds/${b}`,
          title: "t".repeat(1 + random(small ? 30 : 300)),
          commit: random(2) === 0 ? "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8" : `${b}`.repeat(40),
          branch: "b".repeat(1 + random(small ? 30 : 300)),
          author: { name: "a".repeat(1 + random(small ? 30 : 300)), iconUrl: undefined },
          message: "m".repeat(random(small ? 100 : 5000)),
          sections: ["Checks", "Builds", "Steps"].slice(0, 1 + random(3)).map((name) => ({
            name,
            rows: Array.from({ length: 1 + random(random(2) === 0 ? 8 : small ? 100 : 400) }, () => ({ status: statuses[random(statuses.length)]!, text: label() }))
          }))
        }))
      const message = wire({ builds, approvals: [] })
      assert.strictEqual(discordLimitViolation(message), undefined, `round ${round}`)
      assert.isAtMost(message.embeds.length, Math.min(builds.length, 10))
      assert.isAtLeast(message.embeds.length, Math.min(builds.length, 5), "titles and details alone leave room for five")
      const allFit = builds.length <= limits.embeds && discordLimitViolation(everything(builds)) === undefined
      if (allFit) {
        fitting += 1
        assert.strictEqual(message.embeds.length, builds.length, `round ${round}: every build shown`)
      }
      message.embeds.forEach((embed: { fields?: Array<{ name: string; value: string }> }, b: number) => {
        for (const section of builds[b]!.sections) {
          const counted = shown((embed.fields ?? []).filter((field) => field.name === section.name || field.name.startsWith(`${section.name} (`)))
          assert.strictEqual(counted.rows.length + counted.more, section.rows.length, `round ${round}, build ${b}, ${section.name}`)
          if (allFit) assert.deepStrictEqual(counted, { rows: section.rows.map(rowLine), more: 0 }, `round ${round}, build ${b}, ${section.name}: all fit`)
        }
      })
    }
    assert.isAtLeast(fitting, 50, "enough rounds where everything fits")
  })

  it("clips what no limit allows: a huge commit message, a long title, a long row", () => {
    const message = renderMessage({
      builds: [build({ title: "p".repeat(400), message: "m".repeat(10_000), sections: [{ name: "Builds", rows: [{ status: "passed", text: "x".repeat(5000) }] }] })],
      approvals: []
    })
    assert.strictEqual(discordLimitViolation(message), undefined)
    assert.strictEqual(message.embeds![0]!.title!.length, limits.title)
  })

  it("offers an Approve button per blocked step, five to a row", () => {
    const approvals = Array.from({ length: 7 }, (_, i) => ({ jobId: `job-${i}`, label: `Deploy ${i}?`, buildId: "deploy-1" }))
    const message = wire({ builds: [build()], approvals })
    const rows = message.components as Array<{ components: Array<{ custom_id: string; label: string }> }>
    assert.deepStrictEqual(rows.map((row) => row.components.length), [5, 2])
    assert.deepStrictEqual(rows[0]!.components[0], { type: 2, custom_id: "approve:job-0", label: "Approve: Deploy 0?", style: 3 } as never)
  })

  it("never mentions anyone, whatever a branch or commit message says", () => {
    const message = renderMessage({ builds: [build({ branch: "@everyone", message: "<@&123456789012345678> ping" })], approvals: [] })
    assert.deepStrictEqual(message.allowed_mentions, { parse: [] })
  })

  it("keeps backticks in a branch from breaking out of its code span", () => {
    const [embed] = renderMessage({ builds: [build({ branch: "a`b" })], approvals: [] }).embeds!
    assert.include(embed!.description!, "(`aˋb`)")
  })
})
