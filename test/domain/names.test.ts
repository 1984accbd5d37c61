import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { unmeantCharacter } from "../../src/domain/names.ts"
import { repoRoot } from "../support/paths.ts"

/**
 * nix/lib.nix and src/domain/names.ts each list the characters no one means in a name:
 * Nix refuses them at evaluation, the tool in STEP_DATA and installables. The two
 * lists must agree, character for character.
 */

// Every character of the ranges either list touches, and their neighbours.
const codes = [
  [0x01, 0x2ff],
  [0x600, 0x6ff],
  [0x1800, 0x18ff],
  [0x2000, 0x20ff],
  [0xfe00, 0xfeff],
  [0xff00, 0xffff]
].flatMap(([first, last]) => Array.from({ length: last! - first! + 1 }, (_, i) => first! + i))

const hex = (code: number) => code.toString(16).padStart(4, "0")

describe("names no one means", () => {
  it("are the same characters in nix/lib.nix and src/domain/names.ts", () => {
    const expression = `let lib = import ./nix/lib.nix; in map (h: (builtins.tryEval (lib.expectAttrName "x" (builtins.fromJSON "\\"a\\\\u\${h}b\\""))).success) [ ${codes.map((code) => `"${hex(code)}"`).join(" ")} ]`
    const result = spawnSync("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expression], { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    assert.strictEqual(result.status, 0, result.stderr)
    const acceptedByNix: ReadonlyArray<boolean> = JSON.parse(result.stdout)
    const disagreements = codes.filter((code, i) => acceptedByNix[i] !== (unmeantCharacter(`a${String.fromCharCode(code)}b`) === undefined))
    assert.deepStrictEqual(disagreements.map((code) => `U+${hex(code)}`), [])
    // Not vacuous: both refuse some and accept most.
    assert.include(acceptedByNix, false)
    assert.isAbove(acceptedByNix.filter((accepted) => accepted).length, codes.length / 2)
  })

  it("are shown escaped in an error, never raw", () => {
    const result = spawnSync("nix-instantiate", [
      "--eval",
      "--strict",
      "--expr",
      `(import ./nix/lib.nix).mkActions { self = { }; systems = [ "x" ]; actions.\${builtins.fromJSON ''"a\\u2028b"''}.checks = [ { name = builtins.fromJSON ''"lint\\u202eexe.gnp"''; target = 1; } ]; }`
    ], { cwd: repoRoot, encoding: "utf8" })
    assert.notStrictEqual(result.status, 0)
    assert.include(result.stderr, `error: ciActions."a\\u2028b": expected a name without control or invisible characters (found U+2028), got "a\\u2028b"`)
    assert.notMatch(result.stderr, /[\u2028\u202e]/)
  })

  it("include line and paragraph separators, NEL, bidirectional overrides and the BOM, and not ordinary letters", () => {
    assert.deepStrictEqual(["\u2028", "\u2029", "\u0085", "\u202e", "\ufeff", "\u200b", "\t", "\u001b"].map((char) => unmeantCharacter(`a${char}`)), [
      "U+2028", "U+2029", "U+0085", "U+202E", "U+FEFF", "U+200B", "U+0009", "U+001B"
    ])
    assert.deepStrictEqual(["deploy-bot", "ü", "中文", "🚀", "a b", "1_000"].map(unmeantCharacter), [undefined, undefined, undefined, undefined, undefined, undefined])
    assert.strictEqual(unmeantCharacter("a\ud800"), "U+D800")
  })
})
