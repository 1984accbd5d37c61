import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { formatNixError, summariseNixError } from "../../src/nix/nixError.ts"
import { repoRoot } from "../support/paths.ts"

const sample = (name: string) => readFileSync(`${repoRoot}test/fixtures/nix-errors/${name}`, "utf8")
const flakeSource = "/nix/store/kablkmp3nz8h2gg65hyr3hn6mblg1xby-source"

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

  it("leaves out positions outside the flake's source, such as the ci library's", () => {
    const summary = summariseNixError(sample("invalid-regex.nix-2.8.txt"), flakeSource)
    assert.strictEqual(formatNixError(summary), "ciActions.deployBot.conditions[0].branch: invalid regular expression 'v['")
  })

  it("does not repeat a place the message already starts with", () => {
    const stderr = "error: ciActions.a.deploySteps[0].type: expected one of run, wait, block, got \"comand\"\n\n       … while validating `ciActions.a`\n"
    assert.strictEqual(formatNixError(summariseNixError(stderr)), "ciActions.a.deploySteps[0].type: expected one of run, wait, block, got \"comand\"")
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
