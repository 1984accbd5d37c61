import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nodeBinary, repoRoot, toolArgs } from "../support/paths.ts"
import { runTool } from "../support/tool.ts"

/**
 * The tool makes its terminal only when a command uses it: Node's `process.stdin` is
 * several milliseconds of CPU when stdin is a file, as on an agent (src/effects/lazyTerminal.ts).
 */

// Preloaded into the process: says on stderr, as it exits, whether anything read `process.stdin`.
const watchStdin = () => {
  const hook = join(mkdtempSync(join(tmpdir(), "ci-lazy-terminal-")), "watch-stdin.cjs")
  writeFileSync(
    hook,
    `const { get } = Object.getOwnPropertyDescriptor(process, "stdin")
let read = false
Object.defineProperty(process, "stdin", { configurable: true, enumerable: true, get() { read = true; return get.call(process) } })
process.on("exit", () => process._rawDebug(read ? "STDIN READ" : "STDIN UNTOUCHED"))
`
  )
  return hook
}

const said = (stderr: string) => ({ stdinRead: /STDIN READ/.test(stderr), hookRan: /STDIN (READ|UNTOUCHED)/.test(stderr) })

describe("lazyTerminalLayer", () => {
  it("a plan, from its snapshot and from the loader, and --version leave stdin alone", () => {
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    const base = repo.commit("base", { "flake.nix": fixtureFlake({ outputs: `packages.x86_64-linux.a = drv "a" [ "1" ];` }) })
    const head = repo.commit("head", { "flake.nix": fixtureFlake({ outputs: `packages.x86_64-linux.a = drv "a" [ "2" ];` }) })
    const env = { NODE_OPTIONS: `--require ${watchStdin()}` }
    for (const fromLoader of [false, true]) {
      const plan = runTool(["plan", "--dry-run", "--no-cache", "--base", base, "--head", head], { cwd: repo.dir, env, fromLoader })
      assert.strictEqual(plan.exitCode, 0, plan.stderr)
      assert.include(plan.stdout, "steps:")
      assert.deepStrictEqual(said(plan.stderr), { stdinRead: false, hookRan: true }, `fromLoader ${fromLoader}`)
    }
    const version = spawnSync(nodeBinary, toolArgs(["--version"]), { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
    assert.strictEqual(version.status, 0)
    assert.deepStrictEqual(said(version.stderr), { stdinRead: false, hookRan: true })
  })

  it("the hook sees a read of stdin", () => {
    const result = spawnSync(nodeBinary, ["-e", "process.stdin"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: `--require ${watchStdin()}` } })
    assert.strictEqual(result.status, 0)
    assert.deepStrictEqual(said(result.stderr), { stdinRead: true, hookRan: true })
  })
})
