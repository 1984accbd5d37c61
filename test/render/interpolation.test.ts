import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { escapeInterpolation } from "../../src/render/interpolation.ts"
import { interpolate } from "../support/interpolate.ts"

// Every variable a careless pipeline could expand, set to something visible.
const env = { HOME: "/root", X: "expanded", BUILDKITE_BRANCH: "main", PATH: "/bin" }

const Hostile = Schema.Array(
  Schema.Literals(["$", "$", "{", "}", "\\", "(", ")", "HOME", "X", "_", "1", "-", ":", "?", "%", "#", " ", "\n", "`", "'", "\"", "é"])
)

const oddBackslashesBeforeDollar = (text: string) => /(^|[^\\])(\\\\)*\\\$/.test(text)

describe("escapeInterpolation", () => {
  it.each([
    ["costs $5", "costs $5"],
    ["$HOME and ${HOME}", "$HOME and ${HOME}"],
    ["${X:-default} ${X?required} ${X:0:3}", "${X:-default} ${X?required} ${X:0:3}"],
    ["$(rm -rf /) `whoami`", "$(rm -rf /) `whoami`"],
    ["trailing $", "trailing $"],
    ["$$ already doubled", "$$ already doubled"],
    ["quotes ' \" and\nnewlines", "quotes ' \" and\nnewlines"],
    ["windows\\path", "windows\\path"],
    ["\\\\$HOME", "\\\\$HOME"]
  ])("%j survives upload as itself", (text, expected) => {
    const result = interpolate(escapeInterpolation(text), env)
    assert.deepStrictEqual(result.expansions, [])
    assert.strictEqual(result.text, expected)
  })

  it("keeps a backslash-escaped $ literal, at the cost of one more backslash", () => {
    const result = interpolate(escapeInterpolation("a\\$HOME"), env)
    assert.deepStrictEqual(result.expansions, [])
    assert.strictEqual(result.text, "a\\\\$HOME")
  })

  it.prop("never lets a variable expand, and is exact unless a \\ precedes a $", [Hostile], ([parts]) => {
    const text = parts.join("")
    const result = interpolate(escapeInterpolation(text), env)
    assert.deepStrictEqual(result.expansions, [])
    if (!oddBackslashesBeforeDollar(text)) assert.strictEqual(result.text, text)
  })

  it("is needed: the same strings unescaped would expand or fail", () => {
    assert.deepStrictEqual(interpolate("$HOME", env).expansions, ["HOME"])
    assert.strictEqual(interpolate("${X:-d}", {}).text, "d")
  })
})
