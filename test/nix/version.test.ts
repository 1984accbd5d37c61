import { assert, describe, it } from "@effect/vitest"
import { derivationOutputs, parseNixVersion, unsupportedReason } from "../../src/nix/version.ts"

// `nix --version` as released versions print it.
const printed = {
  "nix (Nix) 2.3.16": [2, 3, 16],
  "nix (Nix) 2.8.0": [2, 8, 0],
  "nix (Nix) 2.11.1": [2, 11, 1],
  "nix (Nix) 2.13.6": [2, 13, 6],
  "nix (Nix) 2.15.3": [2, 15, 3],
  "nix (Nix) 2.18.1+dfsg": [2, 18, 1],
  "nix (Nix) 2.24.14": [2, 24, 14],
  "nix (Nix) 2.28.3": [2, 28, 3],
  "nix (Nix) 2.31.2": [2, 31, 2],
  "nix (Nix) 2.26.0pre20250101_deadbee": [2, 26, 0],
  "nix (Lix, like Nix) 2.91.1": [2, 91, 1],
  "nix (Determinate Nix 3.6.2) 2.29.0": [2, 29, 0]
} as const

describe("parseNixVersion", () => {
  it.each(Object.entries(printed))("reads %j", (text, [major, minor, patch]) => {
    const version = parseNixVersion(`${text}\n`)
    assert.deepStrictEqual(version, { major, minor, patch, text })
  })

  it("reads nothing from something else", () => {
    assert.isUndefined(parseNixVersion("bash: nix: command not found"))
  })
})

describe("what a version can do", () => {
  const version = (text: keyof typeof printed) => parseNixVersion(text)!

  it("builds a derivation's outputs as drv^* from 2.13, and as the bare path before", () => {
    const drv = "/nix/store/00000000000000000000000000000000-x.drv"
    assert.strictEqual(derivationOutputs(version("nix (Nix) 2.8.0"), drv), drv)
    assert.strictEqual(derivationOutputs(version("nix (Nix) 2.11.1"), drv), drv)
    for (const text of ["nix (Nix) 2.13.6", "nix (Nix) 2.15.3", "nix (Nix) 2.28.3", "nix (Lix, like Nix) 2.91.1", "nix (Determinate Nix 3.6.2) 2.29.0"] as const) {
      assert.strictEqual(derivationOutputs(version(text), drv), `${drv}^*`)
    }
  })

  it("refuses a Nix older than 2.8, saying why", () => {
    assert.strictEqual(
      unsupportedReason(version("nix (Nix) 2.3.16")),
      "nix (Nix) 2.3.16 is too old: ci needs Nix 2.8 or later, for flakes"
    )
    assert.isUndefined(unsupportedReason(version("nix (Nix) 2.8.0")))
    assert.isUndefined(unsupportedReason(version("nix (Lix, like Nix) 2.91.1")))
  })
})
