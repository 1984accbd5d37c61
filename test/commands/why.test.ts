import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { runTool } from "../support/tool.ts"

/**
 * `tool why` end to end: fixture flakes with real commits, evaluated by real Nix,
 * whose `.drv` files the tool reads back.
 */

interface Settings {
  readonly version?: string
  readonly level?: string
}

// `top` is a chain top → a → b → c → d; only d's `level` changes. `run` is an app whose program is bot's.
const flakeAt = (settings: Settings = {}) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux =
        let
          mk = name: attrs: builtins.derivation ({ inherit name system; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; } // attrs);
          d = mk "d" { level = "${settings.level ?? "1"}"; };
          c = mk "c" { dep = d; };
          b = mk "b" { dep = c; };
          a = mk "a" { dep = b; };
        in {
          bot = mk "bot-${settings.version ?? "1.0.0"}" { version = "${settings.version ?? "1.0.0"}"; src = ./bot; };
          top = mk "top" { dep = a; };
          other = mk "other" { };
        };
      apps.x86_64-linux.run = { type = "app"; program = "\${p.bot}/bin/bot"; };`
  })

interface WhyJson {
  readonly status: string
  readonly attrPath: string
  readonly base: string
  readonly head: string
  readonly why: ReadonlyArray<Difference>
  readonly error: string | null
  readonly flakeInputs: ReadonlyArray<{ name: string; base: { rev: string } | null; head: { rev: string } | null }>
}

interface Difference {
  readonly kind: string
  readonly name: string | null
  readonly base: string | null
  readonly head: string | null
  readonly attributes: ReadonlyArray<string>
  readonly flakeInput: string | null
  readonly why: ReadonlyArray<Difference>
  readonly unexplored: string | null
}

const system = ["--system", "x86_64-linux"]

const why = (cwd: string, args: ReadonlyArray<string>) => runTool(["why", ...args, ...system], { cwd })

const whyJson = (cwd: string, args: ReadonlyArray<string>): WhyJson => {
  const run = why(cwd, [...args, "--format", "json"])
  assert.strictEqual(run.exitCode, 0, run.stderr)
  return JSON.parse(run.stdout) as WhyJson
}

const brief = (difference: Difference) => [difference.kind, difference.name, difference.base, difference.head]

describe("tool why", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const first = repo.commit("first", { "flake.nix": flakeAt(), "bot/main.sh": "echo hello\n" })
  const bumped = repo.commit("bot 1.0.1", { "flake.nix": flakeAt({ version: "1.0.1" }) })
  const edited = repo.commit("edit the bot", { "bot/main.sh": "echo hello, world\n" })
  const deep = repo.commit("d level 2", { "flake.nix": flakeAt({ version: "1.0.1", level: "2" }) })

  it("names the attribute of a version bump", () => {
    const run = why(repo.dir, ["bot", "--head", bumped])
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.strictEqual(
      run.stdout.trim(),
      [`packages.x86_64-linux.bot changed from ${first.slice(0, 12)} to ${bumped.slice(0, 12)}`, `└─ version: "1.0.0" → "1.0.1"`].join("\n")
    )
    const json = whyJson(repo.dir, ["packages.x86_64-linux.bot", "--head", bumped])
    assert.strictEqual(json.status, "changed")
    assert.match(json.base, /^\/nix\/store\/[0-9a-z]{32}-bot-1\.0\.0\.drv$/)
    assert.match(json.head, /^\/nix\/store\/[0-9a-z]{32}-bot-1\.0\.1\.drv$/)
    assert.deepStrictEqual(json.why.map(brief), [["env", "version", "1.0.0", "1.0.1"]])
    assert.deepStrictEqual(json.flakeInputs, [])
  })

  it("names the source of an edit", () => {
    const json = whyJson(repo.dir, ["packages.bot", "--base", bumped, "--head", edited])
    assert.deepStrictEqual(json.why.map((entry) => [entry.kind, entry.name, entry.attributes]), [["source", "bot", ["src"]]])
    assert.notStrictEqual(json.why[0]!.base, json.why[0]!.head)
    const run = why(repo.dir, ["bot", "--head", edited])
    assert.strictEqual(run.stdout.trim().split("\n").at(-1), "└─ src: ./bot changed")
  })

  it("explains an app by the derivation behind its program", () => {
    const json = whyJson(repo.dir, ["run", "--head", bumped])
    assert.strictEqual(json.attrPath, "apps.x86_64-linux.run")
    assert.match(json.head, /-bot-1\.0\.1\.drv$/)
    assert.deepStrictEqual(json.why.map(brief), [["env", "version", "1.0.0", "1.0.1"]])
  })

  it("follows changed inputs down to the change, and stops at --depth", () => {
    const run = why(repo.dir, ["top", "--head", deep])
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.deepStrictEqual(run.stdout.trim().split("\n").slice(1), [
      "└─ a changed",
      "   └─ b changed",
      "      └─ c changed",
      "         └─ d changed",
      `            └─ level: "1" → "2"`
    ])
    const shallow = why(repo.dir, ["top", "--head", deep, "--depth", "1"])
    assert.deepStrictEqual(shallow.stdout.trim().split("\n").slice(1), [
      "└─ a changed",
      "   └─ b changed (not looked into: deeper than --depth)"
    ])
    const json = whyJson(repo.dir, ["top", "--head", deep, "--depth", "0"])
    assert.deepStrictEqual(json.why.map((entry) => [entry.name, entry.unexplored, entry.why.length]), [["a", "depth", 0]])
  })

  it("says an unchanged output is unchanged", () => {
    const run = why(repo.dir, ["other", "--base", first, "--head", deep])
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /^packages\.x86_64-linux\.other is unchanged from [0-9a-f]{12} to [0-9a-f]{12}: \/nix\/store\/[0-9a-z]{32}-other\n$/)
    assert.strictEqual(whyJson(repo.dir, ["other", "--head", deep]).status, "unchanged")
  })

  it("rejects an unknown attribute, naming the nearest, and a bad revision", () => {
    const unknown = why(repo.dir, ["bto"])
    assert.strictEqual(unknown.exitCode, 2)
    assert.include(unknown.stderr, `"bto": no package, check, devShell, formatter or app of that name for x86_64-linux`)
    assert.include(unknown.stderr, "did you mean packages.x86_64-linux.bot?")
    assert.strictEqual(unknown.stdout, "")

    const badBase = why(repo.dir, ["bot", "--base", "no-such-rev"])
    assert.strictEqual(badBase.exitCode, 2)
    assert.include(badBase.stderr, "--base: no-such-rev is not a commit in")

    const noParent = why(repo.dir, ["bot", "--head", first])
    assert.strictEqual(noParent.exitCode, 2)
    assert.include(noParent.stderr, `--base: ${first.slice(0, 12)} has no parent commit in this clone; pass --base`)

    const badDepth = why(repo.dir, ["bot", "--depth", "-1"])
    assert.strictEqual(badDepth.exitCode, 2)
    assert.include(badDepth.stderr, "--depth: must be 0 or more, got -1")
  })
})

describe("tool why: a flake input locked to another revision", () => {
  const dep = FixtureRepo.create(inject("ciSnapshot"))
  const depFirst = dep.commit("data 1", { "data.txt": "1\n" })
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const flake = fixtureFlake({
    outputs: `packages.x86_64-linux.data = builtins.derivation { name = "data"; inherit system; builder = "/bin/sh"; args = [ "-c" "cp $src/data.txt $out" ]; src = dep; };`
  })
    .replace("outputs = { self, ci }:", "outputs = { self, ci, dep }:")
    .replace(`inputs.ci.inputs.nixpkgs.follows = "";`, `inputs.ci.inputs.nixpkgs.follows = "";\n  inputs.dep = { url = "git+file://${dep.dir}"; flake = false; };`)
  const base = repo.commit("with dep", { "flake.nix": flake })
  const depSecond = dep.commit("data 2", { "data.txt": "2\n" })
  execFileSync("nix", ["flake", "lock", "--update-input", "dep"], { cwd: repo.dir, stdio: ["ignore", "ignore", "pipe"] })
  const head = repo.commit("update dep")

  it("says the input's source changed, and that the lock moved it", () => {
    const json = whyJson(repo.dir, ["data", "--base", base, "--head", head])
    assert.deepStrictEqual(json.flakeInputs.map((input) => [input.name, input.base?.rev, input.head?.rev]), [["dep", depFirst, depSecond]])
    assert.deepStrictEqual(json.why.map((entry) => [entry.kind, entry.name, entry.attributes, entry.flakeInput]), [
      ["source", "source", ["src"], "dep"]
    ])
    const run = why(repo.dir, ["data"])
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.deepStrictEqual(run.stdout.trim().split("\n"), [
      `packages.x86_64-linux.data changed from ${base.slice(0, 12)} to ${head.slice(0, 12)}`,
      `flake inputs updated: dep ${depFirst.slice(0, 7)} → ${depSecond.slice(0, 7)}`,
      "└─ src: ./source changed (flake input dep updated)"
    ])
  })
})
