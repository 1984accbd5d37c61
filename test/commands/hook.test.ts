import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { runTool } from "../support/tool.ts"

/** `tool hook install`: a real pre-push hook, run by a real `git push`. */

const salt = `${Date.now()}-${process.pid}`
const flakeWith = (version: string, lint: string) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux.bot = drv "bot" [ "${version}" "${salt}" ];
      apps.x86_64-linux.lint = cmd "lint" "echo linting ${version}; ${lint}";`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = { system }: {
          bot = { conditions = [ { changed = [ p.bot ]; } ]; checks = [ { name = "lint"; target = a.lint; } ]; };
        };
      }`
  })

const push = (repo: FixtureRepo) => spawnSync("git", ["-C", repo.dir, "push", "origin", "master"], { encoding: "utf8" })

describe("tool hook install", () => {
  it("runs tool run on what is pushed, stops a push whose check fails, and uninstalls only its own hook", () => {
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    repo.addOrigin()
    repo.commit("first", { "flake.nix": flakeWith("1", "exit 0") })
    repo.git("push", "--quiet", "origin", "master")
    const hook = join(repo.git("rev-parse", "--path-format=absolute", "--git-path", "hooks"), "pre-push")

    const installed = runTool(["hook", "install"], { cwd: repo.dir })
    assert.strictEqual(installed.exitCode, 0, installed.stderr)
    assert.include(installed.stderr, `installed ${hook}`)
    assert.strictEqual(statSync(hook).mode & 0o111, 0o111)

    // A failing check in the pushed commit (the work tree is clean again): the push is refused.
    const bad = repo.commit("bot 2, lint fails", { "flake.nix": flakeWith("2", "echo 'lint: bad' >&2; exit 4") })
    const refused = push(repo)
    assert.notStrictEqual(refused.status, 0)
    assert.include(refused.stderr, "pre-push: tool run for refs/heads/master")
    assert.include(refused.stderr, `Planned commit ${bad.slice(0, 12)}`)
    assert.notStrictEqual(repo.git("ls-remote", "origin", "refs/heads/master").split("\t")[0], bad)

    const good = repo.commit("bot 3", { "flake.nix": flakeWith("3", "exit 0") })
    const pushed = push(repo)
    assert.strictEqual(pushed.status, 0, pushed.stderr)
    assert.match(pushed.stdout + pushed.stderr, /✓ check lint/)
    assert.strictEqual(repo.git("ls-remote", "origin", "refs/heads/master").split("\t")[0], good)

    const again = runTool(["hook", "install"], { cwd: repo.dir })
    assert.strictEqual(again.exitCode, 0, again.stderr)
    assert.include(again.stderr, `updated ${hook}`)
    const removed = runTool(["hook", "install", "--uninstall"], { cwd: repo.dir })
    assert.strictEqual(removed.exitCode, 0, removed.stderr)
    assert.isFalse(existsSync(hook))
  })

  it("leaves a pre-push hook it did not write alone", () => {
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    repo.commit("first", { "flake.nix": flakeWith("1", "exit 0") })
    const hook = join(repo.git("rev-parse", "--path-format=absolute", "--git-path", "hooks"), "pre-push")
    writeFileSync(hook, "#!/bin/sh\necho mine\n", { mode: 0o755 })
    for (const args of [["hook", "install"], ["hook", "install", "--uninstall"]]) {
      const run = runTool(args, { cwd: repo.dir })
      assert.strictEqual(run.exitCode, 2, run.stderr)
      assert.include(run.stderr, `error: ${hook}:`)
      assert.strictEqual(readFileSync(hook, "utf8"), "#!/bin/sh\necho mine\n")
    }
  })
})
