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
