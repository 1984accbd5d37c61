import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "yaml"
import { repoRoot } from "../support/paths.ts"

/**
 * The plugin's post-checkout hook, run as the agent runs it, in shallow clones of
 * a repository with history: the base commit must be there afterwards.
 */

const hook = join(repoRoot, "buildkite-plugin/hooks/post-checkout")
const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "protocol.file.allow=always", "-C", cwd, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  }).trim()

// main: c1..c5 (v1 tags c3); feature branches off c2 with f1, f2.
const origin = mkdtempSync(join(tmpdir(), "ci-plugin-origin-"))
git(origin, "init", "--quiet", "--initial-branch", "main")
const commit = (message: string) => {
  writeFileSync(join(origin, "file"), message)
  git(origin, "add", "file")
  git(origin, "commit", "--quiet", "--message", message)
  return git(origin, "rev-parse", "HEAD")
}
const c1 = commit("c1")
const c2 = commit("c2")
commit("c3")
git(origin, "tag", "v1")
commit("c4")
commit("c5")
git(origin, "checkout", "--quiet", "-b", "feature", c2)
commit("f1")
commit("f2")
git(origin, "checkout", "--quiet", "main")

const shallowClone = (ref: string) => {
  const clone = join(mkdtempSync(join(tmpdir(), "ci-plugin-clone-")), "checkout")
  git(tmpdir(), "clone", "--quiet", "--depth", "1", "--branch", ref, `file://${origin}`, clone)
  return clone
}

/** Source the hook in bash, as the agent does, and report what it exported. */
const runHook = (cwd: string, env: Record<string, string>) => {
  const result = spawnSync("bash", ["-c", `source "${hook}" && printf '%s\\n---\\n%s\\n---\\n%s' "$NIX_CONFIG" "\${TOOL_TARGET:-}" "$(env | grep -E '^CI_(NIX_|BUILD_SHARD_SIZE=)' | sort)"`], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "protocol.file.allow", GIT_CONFIG_VALUE_0: "always", ...env }
  })
  const [nixConfig, toolTarget, cacheSettings] = result.stdout.split("\n---\n")
  return { status: result.status, stderr: result.stderr, nixConfig, toolTarget, cacheSettings }
}

describe("the cicd plugin's post-checkout hook", () => {
  it("is described by a valid plugin.yml", () => {
    const plugin = parse(readFileSync(join(repoRoot, "buildkite-plugin/plugin.yml"), "utf8"))
    assert.strictEqual(plugin.name, "cicd")
    assert.deepStrictEqual(Object.keys(plugin.configuration.properties).sort(), ["build_shard_size", "deploy_pipeline_name", "fetch_depth", "nix_cache", "nix_cache_public_key", "nix_config", "nix_signing_key_file", "repo", "tool"])
    assert.isFalse(plugin.configuration.additionalProperties)
  })

  it("fetches the previous commit of a branch build", () => {
    const clone = shallowClone("main")
    assert.notStrictEqual(spawnSync("git", ["-C", clone, "rev-parse", "--verify", "--quiet", "HEAD^"]).status, 0)
    const result = runHook(clone, { BUILDKITE_BRANCH: "main", BUILDKITE_PLUGIN_CICD_FETCH_DEPTH: "1" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.strictEqual(git(clone, "rev-parse", "HEAD^"), git(origin, "rev-parse", "main^"))
  })

  it("fetches a pull request's base branch back to the merge-base", () => {
    const clone = shallowClone("feature")
    const result = runHook(clone, {
      BUILDKITE_PULL_REQUEST: "7",
      BUILDKITE_PULL_REQUEST_BASE_BRANCH: "main",
      BUILDKITE_PLUGIN_CICD_FETCH_DEPTH: "1"
    })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.strictEqual(git(clone, "merge-base", "HEAD", "refs/remotes/origin/main"), c2)
  })

  it("fetches the branches that hold a tag's commit", () => {
    const clone = shallowClone("v1")
    const result = runHook(clone, { BUILDKITE_TAG: "v1", BUILDKITE_BRANCH: "v1", BUILDKITE_PLUGIN_CICD_FETCH_DEPTH: "1" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.strictEqual(git(clone, "for-each-ref", "--format=%(refname)", "--contains", "HEAD", "refs/remotes"), "refs/remotes/origin/main")
  })

  it("says so, and carries on, when the first commit has no parent", () => {
    const clone = shallowClone("main")
    git(clone, "checkout", "--quiet", "--detach", "HEAD")
    git(clone, "fetch", "--quiet", "--unshallow")
    git(clone, "checkout", "--quiet", c1)
    const result = runHook(clone, { BUILDKITE_BRANCH: "main" })
    assert.strictEqual(result.status, 0)
    assert.include(result.stderr, "the commit has no parent")
  })

  it("turns on flakes, adds nix_config, and exports the tool's flake reference", () => {
    const clone = shallowClone("main")
    const result = runHook(clone, {
      NIX_CONFIG: "substituters =",
      BUILDKITE_PLUGIN_CICD_NIX_CONFIG: "max-jobs = 4",
      BUILDKITE_PLUGIN_CICD_TOOL: "github:denbeigh2000/ci/v0.1.0#apps.x86_64-linux.tool"
    })
    assert.strictEqual(result.nixConfig, "substituters =\nextra-experimental-features = nix-command flakes\nmax-jobs = 4")
    assert.strictEqual(result.toolTarget, "github:denbeigh2000/ci/v0.1.0#apps.x86_64-linux.tool")
  })

  it("exports the binary cache's settings", () => {
    const result = runHook(shallowClone("main"), {
      BUILDKITE_PLUGIN_CICD_NIX_CACHE: "s3://ci-cache?region=eu-west-1",
      BUILDKITE_PLUGIN_CICD_NIX_CACHE_PUBLIC_KEY: "ci-1:abc=",
      BUILDKITE_PLUGIN_CICD_NIX_SIGNING_KEY_FILE: "/etc/nix/ci-signing-key"
    })
    assert.strictEqual(
      result.cacheSettings,
      "CI_NIX_CACHE=s3://ci-cache?region=eu-west-1\nCI_NIX_CACHE_PUBLIC_KEY=ci-1:abc=\nCI_NIX_SIGNING_KEY_FILE=/etc/nix/ci-signing-key"
    )
    assert.strictEqual(runHook(shallowClone("main"), {}).cacheSettings, "")
  })

  it("exports the shard size tool plan splits builds at", () => {
    assert.strictEqual(runHook(shallowClone("main"), { BUILDKITE_PLUGIN_CICD_BUILD_SHARD_SIZE: "300" }).cacheSettings, "CI_BUILD_SHARD_SIZE=300")
  })

  it("rejects a fetch_depth that is not a positive integer", () => {
    const result = runHook(shallowClone("main"), { BUILDKITE_PLUGIN_CICD_FETCH_DEPTH: "lots" })
    assert.strictEqual(result.status, 2)
    assert.include(result.stderr, "fetch_depth must be a positive integer, got 'lots'")
  })
})
