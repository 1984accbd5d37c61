import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { keyPair as newKeyPair, otherAgent as agentWrapper } from "../support/agents.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { runTool } from "../support/tool.ts"

/**
 * The binary cache between steps, for real: a `file://` cache, and further agents
 * stood in for by the same tool with an empty Nix store of its own (a private mount
 * namespace whose /nix is a new directory). Every builder leaves a mark, so a test
 * can count what was built where.
 */

const scratch = mkdtempSync(join(tmpdir(), "ci-cache-"))
const marks = join(scratch, "marks")
const salt = `${Date.now()}-${process.pid}`
const outputs = `
      packages.x86_64-linux = {
        lib = sh "lib" "echo lib >> ${marks}; echo lib ${salt} > $out";
        tool = sh "tool" "echo tool >> ${marks}; echo \${p.lib} > $out";
        deployer = sh "deployer" "echo deploy >> ${marks}; mkdir -p $out/bin; printf '#!/bin/sh\\\\necho deployed\\\\ncat \${p.tool}\\\\necho program >> ${marks}\\\\n' > $out/bin/deploy; chmod +x $out/bin/deploy";
      };
      apps.x86_64-linux.deploy = { type = "app"; program = "\${p.deployer}/bin/deploy"; };`

const builderMarks = (): ReadonlyArray<string> =>
  existsSync(marks) ? readFileSync(marks, "utf8").split("\n").filter((line) => line !== "" && line !== "program").sort() : []

const keyPair = (name: string) => newKeyPair(scratch, name)
const otherAgent = (name: string) => agentWrapper(scratch, name)

describe("the binary cache between steps", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("fixture", { "flake.nix": fixtureFlake({ outputs }) })
  const signing = keyPair("ci-test-1")
  const stranger = keyPair("ci-stranger-1")
  const signedCache = `file://${join(scratch, "signed-cache")}`
  const unsignedCache = `file://${join(scratch, "unsigned-cache")}`
  const deployTarget = ["deploy", "--target", ".#apps.x86_64-linux.deploy", "--name", "production"]

  const build = runTool(["build", "--", ".#apps.x86_64-linux.deploy", ".#packages.x86_64-linux.lib"], {
    cwd: repo.dir,
    env: { CI_NIX_CACHE: signedCache, CI_NIX_SIGNING_KEY_FILE: signing.secretFile, CI_NIX_CACHE_PUBLIC_KEY: signing.publicKey }
  })
  const builtFirst = builderMarks()

  it("pushes what tool build built, signed, without showing the key", () => {
    assert.strictEqual(build.exitCode, 0, build.stderr)
    assert.deepStrictEqual(builtFirst, ["deploy", "lib", "tool"])
    assert.match(build.stderr, /pushed 3 built outputs, signed, to file:\/\//)
    const secret = readFileSync(signing.secretFile, "utf8").trim()
    for (const output of [build.stdout, build.stderr]) {
      assert.notInclude(output, signing.secretFile)
      assert.notInclude(output, secret.split(":")[1]!)
    }
    const narinfos = readdirSync(join(scratch, "signed-cache")).filter((file) => file.endsWith(".narinfo"))
    assert.strictEqual(narinfos.length, 3)
    for (const file of narinfos) assert.include(readFileSync(join(scratch, "signed-cache", file), "utf8"), "Sig: ci-test-1:")
  })

  /** Run tool on another agent, reading a cache and trusting a key. */
  const onAgent = (agent: string, args: ReadonlyArray<string>, cache: string, publicKey?: string) =>
    runTool(args, {
      cwd: repo.dir,
      env: { CI_NIX_CACHE: cache, ...(publicKey === undefined ? {} : { CI_NIX_CACHE_PUBLIC_KEY: publicKey }) },
      wrapper: otherAgent(agent)
    })

  it("lets a deploy on another agent substitute everything and build nothing", () => {
    const deploy = onAgent("trusting", deployTarget, signedCache, signing.publicKey)
    assert.strictEqual(deploy.exitCode, 0, deploy.stderr)
    assert.include(deploy.stdout, "deployed")
    assert.deepStrictEqual(builderMarks(), builtFirst)
  })

  it("refuses paths signed by a key it was not told to trust", () => {
    const deploy = onAgent("stranger", deployTarget, signedCache, stranger.publicKey)
    assert.strictEqual(deploy.exitCode, 0, deploy.stderr)
    // Built again on that agent, every one.
    assert.deepStrictEqual(builderMarks(), [...builtFirst, "deploy", "lib", "tool"].sort())
  })

  it("refuses unsigned paths", () => {
    // An agent with no signing key pushes unsigned paths: to a cache of their own here.
    const unsignedBuild = onAgent("unsigned-builder", ["build", "--", ".#packages.x86_64-linux.lib"], unsignedCache)
    assert.strictEqual(unsignedBuild.exitCode, 0, unsignedBuild.stderr)
    assert.match(unsignedBuild.stderr, /pushed 1 built outputs to file:\/\//)
    const before = builderMarks().filter((mark) => mark === "lib").length
    const rebuild = onAgent("unsigned-reader", ["build", "--", ".#packages.x86_64-linux.lib"], unsignedCache, signing.publicKey)
    assert.strictEqual(rebuild.exitCode, 0, rebuild.stderr)
    assert.strictEqual(builderMarks().filter((mark) => mark === "lib").length, before + 1)
  })

  it("fails the step, naming each path, when the push fails", () => {
    const readOnly = join(scratch, "read-only-cache")
    mkdirSync(readOnly)
    // A store URL Nix cannot write to: a file where the cache's directory should be.
    execFileSync("sh", ["-c", `echo not a directory > "${readOnly}/nar"`])
    const failed = runTool(["build", "--", ".#packages.x86_64-linux.lib"], {
      cwd: repo.dir,
      env: { CI_NIX_CACHE: `file://${readOnly}`, CI_NIX_SIGNING_KEY_FILE: signing.secretFile },
      wrapper: otherAgent("failing-push")
    })
    assert.strictEqual(failed.exitCode, 1, failed.stderr)
    assert.match(failed.stderr, /1 of 1 outputs did not reach the cache file:\/\/\S+ \(later steps will build them again\):\n {2}\/nix\/store\/[0-9a-z]{32}-lib: /)
    assert.notInclude(failed.stderr, signing.secretFile)
  })
})
