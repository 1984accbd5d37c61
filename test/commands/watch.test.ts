import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nodeBinary, toolArgs } from "../support/paths.ts"

/** `tool watch` on a real flake: a round per change, and a change cancelling the round in flight. */

const scratch = mkdtempSync(join(tmpdir(), "ci-watch-"))
const pidFile = join(scratch, "pid")
const flakeWith = (version: string) =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux.bot = drv "bot" [ "${version}" ];
      apps.x86_64-linux.slow = cmd "slow" "echo $$ > ${pidFile}; if [ ${version} = 2 ]; then sleep 60; fi";`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = { system }: { bot = { conditions = [ { changed = [ p.bot ]; } ]; checks = [ { name = "slow"; target = a.slow; } ]; }; };
      }`
  })

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("tool watch", () => {
  it("plans each change against the round before, and a change stops the round in flight and its processes", async () => {
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    repo.commit("first", { "flake.nix": flakeWith("1") })
    const child = spawn(nodeBinary, toolArgs(["watch", "--debounce", "200"]), { cwd: repo.dir, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const waitFor = async (test: () => boolean, what: string) => {
      for (let i = 0; i < 1200 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.isTrue(test(), `${what}:\n${output}`)
    }
    try {
      await waitFor(() => /^round 1: .*, 0 changed; 0 passed, 0 failed/m.test(output), "round 1")
      repo.write({ "flake.nix": flakeWith("2") })
      await waitFor(() => existsSync(pidFile), "the slow check of round 2 started")
      const slow = Number(readFileSync(pidFile, "utf8").trim())
      assert.isTrue(alive(slow))
      repo.write({ "flake.nix": flakeWith("3") })
      await waitFor(() => /^round 3: /m.test(output), "round 3")
      assert.match(output, /^round 3: planned \d+ ms after the change, 2 changed; 2 passed, 0 failed/m)
      assert.notMatch(output, /^round 2: /m, "round 2 was cancelled")
      assert.isFalse(alive(slow), "round 2's check was stopped")
    } finally {
      child.kill("SIGINT")
    }
  })
})
