import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { gitCommitAll, workingTreeCheckout } from "../support/checkout.ts"
import { nixpkgsStandIn } from "../support/nixpkgsStandIn.ts"
import { nodeBinary, toolArgs } from "../support/paths.ts"
import { runTool } from "../support/tool.ts"

/**
 * A project made as the docs say, `nix flake init -t` of this repository's template, then
 * driven by the laptop commands: tool hook's pre-push hook on a real push, and tool watch
 * re-running the template's check when flake.nix changes. (tool run on it: run.test.ts.)
 */

const salt = `${Date.now()}-${process.pid}`

/** The template's hello with another greeting: its output path, and so the plan, changes. */
const greet = (project: string, greeting: string) => {
  const flake = join(project, "flake.nix")
  const text = readFileSync(flake, "utf8")
  const changed = text.replace(/echo "hello from CI[^"]*"/, `echo "hello from CI, ${greeting}"`)
  assert.notStrictEqual(changed, text, "the template's hello is where this test expects it")
  writeFileSync(flake, changed)
}

describe("a flake made with nix flake init -t", () => {
  const project = join(mkdtempSync(join(tmpdir(), "ci-template-")), "project")
  execFileSync("git", ["init", "--quiet", "--initial-branch", "main", project])
  execFileSync("nix", ["flake", "init", "-t", `git+file://${workingTreeCheckout()}#default`], { cwd: project, stdio: "ignore" })
  execFileSync("git", ["-C", project, "add", "--all"])
  execFileSync("nix", ["flake", "lock", "--override-input", "nixpkgs", `path:${nixpkgsStandIn()}`, "--override-input", "ci", `path:${inject("ciSnapshot")}`], {
    cwd: project,
    stdio: "ignore"
  })
  greet(project, salt)
  gitCommitAll(project, "from the template")
  const origin = mkdtempSync(join(tmpdir(), "ci-template-origin-"))
  execFileSync("git", ["init", "--quiet", "--bare", origin])
  execFileSync("git", ["-C", project, "remote", "add", "origin", origin])
  execFileSync("git", ["-C", project, "push", "--quiet", "origin", "main"])

  it("runs tool hook's pre-push hook on a push, which builds what changed", () => {
    const installed = runTool(["hook", "install"], { cwd: project })
    assert.strictEqual(installed.exitCode, 0, installed.stderr)
    greet(project, `${salt} again`)
    gitCommitAll(project, "another greeting")
    const pushed = spawnSync("git", ["-C", project, "push", "origin", "main"], { encoding: "utf8" })
    assert.strictEqual(pushed.status, 0, pushed.stderr)
    assert.include(pushed.stderr, "pre-push: tool run for refs/heads/main")
    assert.match(pushed.stdout + pushed.stderr, /✓ build \(\d+ targets?\)/)
    const removed = runTool(["hook", "install", "--uninstall"], { cwd: project })
    assert.strictEqual(removed.exitCode, 0, removed.stderr)
  })

  it("runs a round of tool watch per change, with the template's check", async () => {
    const child = spawn(nodeBinary, toolArgs(["watch", "--tag", "v1.0.0", "--branch", "main", "--debounce", "200"]), {
      cwd: project,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const waitFor = async (pattern: RegExp, what: string) => {
      for (let i = 0; i < 1200 && !pattern.test(output); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.match(output, pattern, `${what}:\n${output}`)
    }
    try {
      await waitFor(/^round 1: .*; \d+ passed, 0 failed/m, "round 1")
      greet(project, `${salt} watched`)
      await waitFor(/^round 2: /m, "round 2")
      // hello changed, so the release action's lint check runs, with the build.
      assert.match(output, /^round 2: planned \d+ ms after the change, [1-9]\d* changed; [2-9]\d* passed, 0 failed/m)
    } finally {
      child.kill("SIGINT")
    }
  })
})
