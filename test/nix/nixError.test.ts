import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { formatNixError, summariseNixError } from "../../src/nix/nixError.ts"
import { repoRoot } from "../support/paths.ts"

const sample = (name: string) => readFileSync(`${repoRoot}test/fixtures/nix-errors/${name}`, "utf8")
const flakeSource = { storePath: "/nix/store/kablkmp3nz8h2gg65hyr3hn6mblg1xby-source", repository: "/tmp/repo", rev: "0".repeat(40) }

describe("summariseNixError", () => {
  it("names the ciActions place and the user's line for an error in the user's code (Nix 2.8)", () => {
    const summary = summariseNixError(sample("missing-attribute.nix-2.8.txt"), flakeSource)
    assert.deepStrictEqual(summary, {
      message: "attribute 'check-lnit' missing (did you mean check-lint?)",
      place: "ciActions.deployBot.checks[0].target",
      position: "flake.nix:12:48"
    })
    assert.strictEqual(
      formatNixError(summary),
      "ciActions.deployBot.checks[0].target: attribute 'check-lnit' missing (did you mean check-lint?) (at flake.nix:12:48)"
    )
  })

  it("reads the layout of later Nix versions, where the message comes last", () => {
    assert.deepStrictEqual(summariseNixError(sample("missing-attribute.nix-2.20.txt"), flakeSource), {
      message: "attribute 'check-lnit' missing (did you mean check-lint?)",
      place: "ciActions.deployBot.checks[0].target",
      position: "flake.nix:12:48"
    })
  })

  it("finds the user's line where Nix 2.34 shows it, in the flake's locked reference", () => {
    const origin = { repository: "/tmp/pe/r", rev: "e5974ec93284bc2a624d45d9831250f5068799e0" }
    assert.deepStrictEqual(summariseNixError(sample("missing-attribute.nix-2.34.txt"), origin), {
      message: "attribute 'lnit' missing (did you mean lint?)",
      place: "ciActions.deployBot.checks[0].target",
      position: "flake.nix:5:72"
    })
    // The same position in another repository, or at another revision, is not the flake's.
    for (const other of [{ ...origin, repository: "/tmp/pe" }, { ...origin, rev: "f".repeat(40) }]) {
      assert.isUndefined(summariseNixError(sample("missing-attribute.nix-2.34.txt"), other).position)
    }
  })

  it("leaves out positions outside the flake's source, such as the ci library's", () => {
    const summary = summariseNixError(sample("invalid-regex.nix-2.8.txt"), flakeSource)
    assert.strictEqual(formatNixError(summary), "ciActions.deployBot.conditions[0].branch: invalid regular expression 'v['")
  })

  it("does not repeat a place the message already starts with", () => {
    const stderr = "error: ciActions.a.deploySteps[0].type: expected one of run, wait, block, got \"comand\"\n\n       … while validating `ciActions.a`\n"
    assert.strictEqual(formatNixError(summariseNixError(stderr)), "ciActions.a.deploySteps[0].type: expected one of run, wait, block, got \"comand\"")
  })

  it("keeps a message whole when the flake's text in it holds a line or paragraph separator", () => {
    const stderr = "error: ciActions.a.checks[0].name: contains U+2028 here:\u2028  - trigger: deploy\n\n       … while validating `ciActions.a`\n"
    assert.strictEqual(formatNixError(summariseNixError(stderr)), "ciActions.a.checks[0].name: contains U+2028 here:\u2028  - trigger: deploy")
  })

  it("explains a lock file that pure evaluation cannot update", () => {
    const summary = summariseNixError("error: cannot update flake input 'ci' in pure mode\n(use '--show-trace' to show detailed location information)\n")
    assert.include(summary.message, "run `nix flake lock` and commit flake.lock")
  })

  it("falls back to the last lines when there is no error line", () => {
    assert.strictEqual(summariseNixError("warning: Git tree is dirty\nsegmentation fault\n").message, "segmentation fault")
    assert.strictEqual(summariseNixError("").message, "nix failed without an error message")
  })
})

describe("summariseNixError on an output's own failure", () => {
  const origin = { storePath: "/nix/store/9phw5v597rhhbz9nzba61vxcpsfyird7-source", repository: "/tmp/repo", rev: "b67cfeb2b6ad62e6c6146769d71b1ef9826acbaf" }

  it.each(["2.8", "2.34"])("names the output ci-actions.nix was evaluating, and where the flake's code failed (Nix %s)", (version) => {
    const summary = summariseNixError(sample(`output-type-error.nix-${version}.txt`), origin)
    assert.deepStrictEqual(summary.output, ["packages", "x86_64-linux", "extra"])
    assert.include(summary.message, "cannot coerce an integer to a string")
    // Where the error itself is, or, when Nix shows none beside the message, the innermost place in the flake.
    assert.strictEqual(summary.position ?? summary.nearestPosition, "flake.nix:13:52")
  })

  it.each(["2.8", "2.34"])("finds the innermost place in the flake for a throw, which Nix 2.8 gives no position (Nix %s)", (version) => {
    const summary = summariseNixError(sample(`thrown-output.nix-${version}.txt`), origin)
    assert.strictEqual(summary.message, "thrower is broken")
    assert.isUndefined(summary.output)
    assert.match(summary.position ?? summary.nearestPosition ?? "", /^flake\.nix:18:(9|19)$/)
  })

  it("reads no output from a marker that is not a list of names", () => {
    const stderr = "error: boom\n\n       … while evaluating the output [1, 2]\n"
    assert.isUndefined(summariseNixError(stderr).output)
  })
})
