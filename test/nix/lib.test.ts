import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { repoRoot } from "../support/paths.ts"

const evalNix = (expression: string) =>
  spawnSync("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expression], { cwd: repoRoot, encoding: "utf8" })

describe("nix/lib.nix", () => {
  it("passes its runTests suite (test/nix/lib-tests.nix)", () => {
    const failures = JSON.parse(
      execFileSync("nix-instantiate", ["--eval", "--strict", "--json", "--expr", "import ./test/nix/lib-tests.nix { }"], {
        cwd: repoRoot,
        encoding: "utf8"
      })
    )
    assert.deepStrictEqual(failures, [])
  })

  it("evaluates with builtins alone: no nixpkgs, no inputs", () => {
    const result = evalNix(`builtins.attrNames (import ./nix/lib.nix)`)
    assert.strictEqual(result.status, 0, result.stderr)
    assert.deepStrictEqual(JSON.parse(result.stdout), ["conditions", "expectAttrName", "mkActions", "normaliseActions", "schema", "steps"])
  })

  it("gives the flake's lib output without fetching nixpkgs", () => {
    const result = spawnSync("nix", ["eval", "--json", ".#lib.steps.wait"], { cwd: repoRoot, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.deepStrictEqual(JSON.parse(result.stdout), { type: "wait" })
  })

  it("is documented field for field in docs/mkActions.md", () => {
    const schema = JSON.parse(evalNix(`(import ./nix/lib.nix).schema`).stdout)
    const doc = readFileSync(`${repoRoot}docs/mkActions.md`, "utf8")
    // The first column of each table under a heading, as the field names it documents.
    const section = (heading: string) => {
      const start = doc.indexOf(heading)
      const end = doc.indexOf("\n#", start + heading.length)
      return [...doc.slice(start, end === -1 ? undefined : end).matchAll(/^\| \`([a-zA-Z]+)\`/gm)].map((match) => match[1])
    }
    assert.deepStrictEqual(section("## `ci.lib.mkActions"), schema.mkActions)
    assert.deepStrictEqual(section("## An action"), schema.action)
    assert.deepStrictEqual(section("### Checks"), schema.check)
    assert.deepStrictEqual(
      [...doc.matchAll(/^\| `\{ (\w+) = /gm)].map((match) => match[1]),
      schema.conditions
    )
    // Its first row is the header (`type`), then a row for each type.
    const steps = section("### Deploy steps").slice(1)
    assert.deepStrictEqual([...steps].sort(), Object.keys(schema.steps).sort())
    for (const [type, fields] of Object.entries(schema.steps) as Array<[string, Array<string>]>) {
      const row = doc.split("\n").find((line) => line.startsWith(`| \`${type}\``))!
      for (const field of fields.filter((field) => field !== "type")) assert.include(row, `\`${field}\``, `${type}: ${field}`)
    }
  })

  it("fails evaluation of invalid actions with the place in the message", () => {
    const result = evalNix(`(import ./nix/lib.nix).mkActions { self = { }; systems = [ "x" ]; actions.a.checks = [ { name = 1; } ]; }`)
    assert.notStrictEqual(result.status, 0)
    assert.include(result.stderr, "ciActions.a.checks[0].name: expected a string, got int 1")
  })

  it("refuses a deploySystem the actions do not cover, naming the action, the systems and the nearest", () => {
    const result = evalNix(
      `(import ./nix/lib.nix).mkActions { self = { }; systems = [ "x86_64-linux" "aarch64-linux" ]; actions.deployBot.deploySystem = "aarch64-linx"; }`
    )
    assert.notStrictEqual(result.status, 0)
    assert.include(
      result.stderr,
      `ciActions.deployBot.deploySystem: expected one of x86_64-linux, aarch64-linux, got "aarch64-linx" (did you mean "aarch64-linux"?)`
    )
  })
})
