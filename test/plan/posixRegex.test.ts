import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { execFileSync } from "node:child_process"
import { compileFullMatch as compileResult } from "../../src/plan/posixRegex.ts"
import { shownPattern } from "../../src/plan/conditions.ts"

const compileFullMatch = (pattern: string) => Result.getOrThrow(compileResult(pattern))

// Patterns users write for branches and tags, and the corners of POSIX syntax.
const patterns = [
  "master", "main|master", "v.*", "v[0-9]+\\.[0-9]+\\.[0-9]+", "release/.*", "release/[^/]*/[^/]",
  "(feature|fix)/[a-z-]+", "[[:digit:]]+", "[[:alpha:]][[:alnum:]_-]*", "v[[:digit:]]{1,3}", "a{2,}", "a**", "(ab)+?",
  "[]a]", "[^]a]+", "[a-]", "[\\d]", "\\.\\*", "x?y+", ".", "(a|)", "[[:upper:]][[:lower:]]*", "[[:space:]]",
  "[.a.]b", "[[=e=]]", "v\\+1", "^v1$", "[[:punct:]]+", "[a\\]b"
]
const inputs = [
  "master", "main", "mastery", "v", "v1", "v1.2.3", "v1.2", "xv1", "release/1/a", "release/1/ab", "release/",
  "feature/new-thing", "fix/x", "feat/x", "123", "12a", "a_b-c", "v12", "v1234", "aa", "a", "", "]", "]a", "b",
  "-", "\\", "d", ".*", "y", "xy", "ab", "Hello", " ", "\n", "ab", "e", "v+1", "!?", "a\\]b", "a]"
]

const nixMatches = (): ReadonlyArray<ReadonlyArray<boolean>> => {
  const expression = `map (p: map (s: builtins.match p s != null) (builtins.fromJSON ${JSON.stringify(JSON.stringify(inputs))})) (builtins.fromJSON ${JSON.stringify(JSON.stringify(patterns))})`
  return JSON.parse(execFileSync("nix-instantiate", ["--eval", "--strict", "--json", "--expr", expression], { encoding: "utf8" }))
}

describe("compileFullMatch", () => {
  it("agrees with Nix's builtins.match on every pattern and input", () => {
    const expected = nixMatches()
    const disagreements: Array<string> = []
    patterns.forEach((pattern, i) => {
      const regex = compileFullMatch(pattern)
      inputs.forEach((input, j) => {
        if (regex.test(input) !== expected[i]![j]) {
          disagreements.push(`${JSON.stringify(pattern)} on ${JSON.stringify(input)}: nix ${expected[i]![j]}`)
        }
      })
    })
    assert.deepStrictEqual(disagreements, [])
  })

  it("matches the whole string, not a part of it", () => {
    assert.isFalse(compileFullMatch("master").test("not-master"))
    assert.isFalse(compileFullMatch("v.*").test("xv1"))
    assert.isTrue(compileFullMatch("v.*").test("v1.0"))
  })

  it("says why a pattern is not one, instead of throwing", () => {
    assert.deepStrictEqual(compileResult("[[:vowel:]]"), Result.fail("unknown character class [:vowel:]"))
    assert.deepStrictEqual(compileResult("a)"), Result.fail(`unmatched ) in "a)"`))
    assert.deepStrictEqual(compileResult("*a"), Result.fail(`nothing to repeat in "*a"`))
  })
})

describe("patterns in a plan's reasons", () => {
  it("are shown as written, and JSON-quoted only when they hold what would not show", () => {
    assert.strictEqual(shownPattern("v[0-9]+\\..*"), "`v[0-9]+\\..*`")
    assert.strictEqual(shownPattern("a\nb"), "\"a\\nb\"")
    assert.strictEqual(shownPattern("a`b"), "\"a`b\"")
  })
})
