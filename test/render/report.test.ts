import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { PlanWhyFromJson, planWhyMetaData } from "../../src/domain/planWhy.ts"
import type { CiPlan, OutputChange } from "../../src/plan/Plan.ts"
import type { Difference } from "../../src/plan/why.ts"
import { ciAnnotation, ciReport } from "../../src/render/report.ts"
import { difference as entry } from "../support/difference.ts"

/** A version bump, unless told otherwise. */
const difference = (overrides: Partial<Difference>): Difference =>
  entry({ kind: "env", name: "version", base: "1.0.0", head: "1.0.1", ...overrides })

const change = (attrPath: string, why: ReadonlyArray<Difference>, overrides: Partial<OutputChange> = {}): OutputChange => ({
  attrPath,
  base: `/nix/store/${"b".repeat(32)}-x`,
  head: `/nix/store/${"h".repeat(32)}-x`,
  baseDrvPath: null,
  headDrvPath: null,
  why,
  whyError: null,
  ...overrides
})

const plan = (overrides: Partial<CiPlan>): CiPlan => ({
  system: "x86_64-linux",
  flakeDir: ".",
  head: "a".repeat(40),
  base: { _tag: "Evaluated", sha: "b".repeat(40), evaluation: { version: 1, system: "x86_64-linux", hasCiActions: true, outputs: [], actions: {} }, choice: "the previous commit" },
  changed: [],
  actions: [],
  checks: [],
  builds: [],
  deploys: [],
  warnings: [],
  otherSystems: [],
  ...overrides
})

const rendered = { pipeline: { steps: [] }, metaData: [] }

describe("ciReport", () => {
  const changed = [
    change("packages.x86_64-linux.bot", [difference({})]),
    change("packages.x86_64-linux.new", [], { base: null }),
    change("packages.x86_64-linux.odd", [], { whyError: "cannot read the derivation /nix/store/x.drv: gone" }),
    // Absent at base too: failing, not new.
    change("packages.x86_64-linux.broken", [], { base: null, head: null, error: "boom (at flake.nix:3:4)" })
  ]

  it("says the base and why it was chosen, and why each output changed, one line each", () => {
    const lines = ciReport(plan({ changed }), rendered).split("\n")
    assert.strictEqual(lines[0], `plan for x86_64-linux: head ${"a".repeat(12)}, base ${"b".repeat(12)}, the previous commit`)
    assert.deepStrictEqual(lines.slice(1, 6), [
      "changed: 4 outputs",
      `  packages.x86_64-linux.bot: version: "1.0.0" → "1.0.1"`,
      "  packages.x86_64-linux.new: new",
      "  packages.x86_64-linux.odd: why unknown: cannot read the derivation /nix/store/x.drv: gone",
      "  packages.x86_64-linux.broken: failed to evaluate"
    ])
  })

  it("lists each system's builds under it when several systems build, and where a deploy runs", () => {
    const build = (system: string, name: string) => ({ attrPath: ["packages", system, name], reasons: [`packages.${system}.${name} changed`] })
    const several = plan({
      builds: [build("x86_64-linux", "bot"), build("x86_64-linux", "lib")],
      otherSystems: [{ system: "aarch64-linux", builds: [build("aarch64-linux", "bot")] }],
      deploys: [{ version: 1, action: "deployBot", system: "aarch64-linux", steps: [] }, { version: 1, action: "docs", system: "x86_64-linux", steps: [] }]
    })
    const lines = ciReport(several, rendered).split("\n")
    const from = lines.findIndex((line) => line.startsWith("builds:"))
    assert.deepStrictEqual(lines.slice(from, from + 7), [
      "builds: 3 derivations on 2 systems",
      "  x86_64-linux: 2 derivations",
      "    packages.x86_64-linux.bot (packages.x86_64-linux.bot changed)",
      "    packages.x86_64-linux.lib (packages.x86_64-linux.lib changed)",
      "  aarch64-linux: 1 derivation",
      "    packages.aarch64-linux.bot (packages.aarch64-linux.bot changed)",
      "deploys: deployBot (0 steps, on aarch64-linux), docs (0 steps)"
    ])
    assert.include(ciAnnotation(several).markdown, "\n\n**Builds:** 2 derivations on x86\\_64-linux, 1 derivation on aarch64-linux")
    // One system: as before, and no builds line in the annotation.
    assert.include(ciReport(plan({ builds: [build("x86_64-linux", "bot")] }), rendered), "builds: 1 derivation\n  packages.x86_64-linux.bot (packages.x86_64-linux.bot changed)")
    assert.notInclude(ciAnnotation(plan({ builds: [build("x86_64-linux", "bot")] })).markdown, "**Builds:**")
  })

  it("shows the whole tree on request", () => {
    const nested = change("packages.x86_64-linux.app", [difference({ kind: "input", name: "lib", base: "lib-1", head: "lib-1", why: [difference({})] })])
    const lines = ciReport(plan({ changed: [nested] }), rendered, { tree: true }).split("\n")
    assert.deepStrictEqual(lines.slice(2, 5), [
      `  packages.x86_64-linux.app: lib-1 › version: "1.0.0" → "1.0.1"`,
      "      └─ lib-1 changed",
      `         └─ version: "1.0.0" → "1.0.1"`
    ])
  })
})

describe("ciAnnotation", () => {
  it("escapes what the flake and the branch control, and warns", () => {
    const hostile = change("packages.x86_64-linux.**bot**", [difference({ base: "<img src=x>", head: "[x](y)" })])
    const annotation = ciAnnotation(plan({ changed: [hostile], warnings: ["the last passed build of \"*x*\" is unknown:\nHTTP 500"] }))
    assert.strictEqual(annotation.style, "warning")
    assert.strictEqual(annotation.context, "ci-plan")
    assert.deepStrictEqual(annotation.markdown.split("\n"), [
      `**Plan** for \`${"a".repeat(12)}\`: compared with ${"b".repeat(12)}, the previous commit`,
      "",
      "**Changed:** 1 output",
      `- packages.x86\\_64-linux.\\*\\*bot\\*\\*: version: "\\<img src=x\\>" → "\\[x\\]\\(y\\)"`,
      "",
      `⚠️ the last passed build of "\\*x\\*" is unknown: HTTP 500`
    ])
  })

  it("lists at most the first outputs", () => {
    const many = Array.from({ length: 60 }, (_, i) => change(`packages.x86_64-linux.p${i}`, [difference({})]))
    const lines = ciAnnotation(plan({ changed: many })).markdown.split("\n")
    assert.strictEqual(lines.filter((line) => line.startsWith("- packages")).length, 50)
    assert.strictEqual(lines.at(-1), "- … and 10 more (the plan step's log lists them all)")
  })
})

describe("planWhyMetaData", () => {
  it("keeps each line short and the value under Buildkite's limit", () => {
    const lines = Array.from({ length: 2000 }, (_, i) => [`packages.x86_64-linux.p${i}`, "x".repeat(500)] as const)
    const [entry, ...rest] = planWhyMetaData(lines)
    assert.deepStrictEqual(rest, [])
    assert.strictEqual(entry!.key, "ci:plan:why")
    assert.isAtMost(Buffer.byteLength(entry!.value), 100_000)
    const decoded = Schema.decodeUnknownSync(PlanWhyFromJson)(entry!.value)
    const kept = Object.values(decoded.lines)
    assert.isAbove(kept.length, 400)
    assert.isTrue(kept.every((line) => line.length === 200 && line.endsWith("…")))
    assert.deepStrictEqual(planWhyMetaData([]), [])
  })
})
