import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
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
    assert.deepStrictEqual(JSON.parse(result.stdout), ["conditions", "mkActions", "normaliseActions", "steps"])
  })

  it("gives the flake's lib output without fetching nixpkgs", () => {
    const result = spawnSync("nix", ["eval", "--json", ".#lib.steps.wait"], { cwd: repoRoot, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.deepStrictEqual(JSON.parse(result.stdout), { type: "wait" })
  })

  it("fails evaluation of invalid actions with the place in the message", () => {
    const result = evalNix(`(import ./nix/lib.nix).mkActions { self = { }; systems = [ "x" ]; actions.a.checks = [ { name = 1; } ]; }`)
    assert.notStrictEqual(result.status, 0)
    assert.include(result.stderr, "ciActions.a.checks[0].name: expected a string, got int 1")
  })
})
