import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nodeBinary, toolBundle } from "../support/paths.ts"
import { runTool } from "../support/tool.ts"

/** The mistakes of a first hour with the tool, each answered in one clear line. */

const flake = fixtureFlake({
  outputs: `packages.x86_64-linux.bot = drv "bot" [ "1" ];`,
  ciActions: `ci.lib.mkActions { inherit self; actions = { }; }`
})
const system = ["--system", "x86_64-linux"]
const lines = (text: string) => text.split("\n").filter((line) => line !== "")

describe("mistakes", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("first", { "flake.nix": flake })
  repo.commit("second", { "flake.nix": flake.replace('"1"', '"2"') })

  it("refuses a --base that is not a commit (a typo, not everything changed)", () => {
    const run = runTool(["plan", "--dry-run", ...system, "--base", "nosuchrev"], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.deepStrictEqual(lines(run.stderr), [`error: --base: nosuchrev is not a commit in ${repo.dir}`])
    assert.strictEqual(run.stdout, "")
  })

  it("names a wrong flag and the nearest, in one line, for every command", () => {
    for (const [command, typo, nearest] of [["plan", "--dry-rn", "--dry-run"], ["run", "--jbos", "--jobs"], ["check", "--taget", "--target"]]) {
      const run = runTool([command!, typo!], { cwd: repo.dir })
      assert.strictEqual(run.exitCode, 2, run.stderr)
      assert.deepStrictEqual(lines(run.stderr), [`error: unknown flag ${typo}; did you mean ${nearest}? (tool ${command} --help lists every flag)`])
      assert.strictEqual(run.stdout, "")
    }
  })

  it("says there is no flake.nix where --flake points", () => {
    mkdirSync(join(repo.dir, "docs"), { recursive: true })
    for (const args of [["--flake", "docs"], []]) {
      const run = runTool(["plan", "--dry-run", ...system, ...args], { cwd: args.length === 0 ? join(repo.dir, "docs") : repo.dir })
      assert.strictEqual(run.exitCode, 2, run.stderr)
      assert.deepStrictEqual(lines(run.stderr), [`error: --flake: there is no flake.nix in ${join(repo.dir, "docs")}: give the flake's directory with --flake`])
    }
  })

  it("says a flake outside git, or a repository with no commit, must be committed first", () => {
    const outside = mkdtempSync(join(tmpdir(), "ci-no-git-"))
    const run = runTool(["plan", "--dry-run", ...system, "--flake", outside], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 2)
    assert.deepStrictEqual(lines(run.stderr), [`error: --flake: ${outside} is not in a git checkout: Nix reads a flake from git (git init, git add --all, git commit)`])
    const empty = FixtureRepo.create(inject("ciSnapshot"))
    empty.write({ "flake.nix": flake })
    for (const command of ["plan", "run"]) {
      const fresh = runTool([command, ...system], { cwd: empty.dir })
      assert.strictEqual(fresh.exitCode, 2, fresh.stderr)
      assert.deepStrictEqual(lines(fresh.stderr), [
        `error: HEAD: ${empty.dir} has no commit yet: commit the flake first (git add --all && git commit), since Nix reads a flake from git`
      ])
    }
  })

  it("says first which commit a plan of a dirty tree is for", () => {
    const dirty = FixtureRepo.create(inject("ciSnapshot"))
    const head = dirty.commit("first", { "flake.nix": flake })
    dirty.write({ "flake.nix": flake.replace('"1"', '"2"') })
    const run = runTool(["plan", "--dry-run", ...system], { cwd: dirty.dir })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const warnings = lines(run.stderr).filter((line) => line.startsWith("warning:"))
    assert.strictEqual(
      warnings[0],
      `warning: the work tree has uncommitted changes, which this plan leaves out: it is for commit ${head.slice(0, 12)} (tool run plans the work tree)`
    )
  })

  it("says outside Buildkite that buildkite-agent is not here, and what to run instead", () => {
    // PATH without the stand-in agent: as on a laptop.
    const run = runTool(["plan", ...system], { cwd: repo.dir, env: { PATH: process.env.PATH! } })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    assert.include(
      run.stderr,
      "error: buildkite-agent is not installed here, so this is not a Buildkite job: run `tool plan --dry-run` to print the pipeline, or `tool run` to run it on this machine"
    )
    assert.notInclude(run.stderr, "ChildProcess.spawn")
  })

  it("says in one line that an older Node cannot run the tool", () => {
    // Debian's node (20) is what this machine runs when the bundled Node 24 is missing: the
    // loader must parse there. Inside scripts/with-nix's chroot there is none, and Node 24
    // stands in, told it is 20.11.0 before the loader runs.
    const debian = spawnSync("/usr/bin/node", ["--version"], { encoding: "utf8" })
    const [major, minor] = (debian.stdout ?? "").trim().slice(1).split(".").map(Number)
    const real = debian.status === 0 && (major! < 22 || (major === 22 && minor! < 19))
    const [node, args] = real
      ? ["/usr/bin/node", [toolBundle, "--version"]]
      : [nodeBinary, ["--import", `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.0"})`, toolBundle, "--version"]]
    const run = spawnSync(node, args, { encoding: "utf8" })
    assert.strictEqual(run.status, 2, run.stderr)
    assert.strictEqual(run.stdout, "")
    assert.match(run.stderr, /^error: tool needs Node >= 22\.19, and this is Node 2\d\.\d+\.\d+ \([^)]+\); npm ci installs one in node_modules\/\.bin, or run it with nix run\n$/)
  })
})
