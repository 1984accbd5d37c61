import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { gitCommitAll, workingTreeCheckout } from "../support/checkout.ts"
import { FixtureRepo } from "../support/fixtureRepo.ts"
import { nixpkgsStandIn } from "../support/nixpkgsStandIn.ts"
import { repoRoot } from "../support/paths.ts"
import { yamlPipelineErrors } from "../support/pipelineSchema.ts"
import { runTool } from "../support/tool.ts"

/**
 * The flake as users meet it: `nix run …#tool`, the template, `nix flake check`,
 * default.nix. nixpkgs cannot be fetched here, so it is overridden with a stand-in
 * built from this machine's bash, coreutils, Node, git and Nix (test/nixpkgs-stand-in;
 * what it cannot prove is in docs/packaging.md).
 */

const checkout = workingTreeCheckout()
const standIn = nixpkgsStandIn()
const override = ["--override-input", "nixpkgs", `path:${standIn}`]
const flake = `git+file://${checkout}`
const nix = (args: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string> } = {}) =>
  spawnSync("nix", args, { cwd: options.cwd ?? checkout, encoding: "utf8", env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 })

/** examples/basic in a new repository, locking `ci` to this run's library. */
const exampleRepo = () => {
  const repo = join(mkdtempSync(join(tmpdir(), "ci-example-")), "repo")
  cpSync(join(repoRoot, "examples/basic"), repo, { recursive: true })
  execFileSync("git", ["-C", repo, "init", "--quiet", "--initial-branch", "master"])
  execFileSync("git", ["-C", repo, "add", "--all"])
  execFileSync("nix", ["flake", "lock", "--override-input", "ci", `path:${inject("ciSnapshot")}`], { cwd: repo, stdio: "ignore" })
  gitCommitAll(repo, "example")
  return repo
}

describe("the flake", () => {
  it("runs the tool: nix run .#tool -- --version", () => {
    const result = nix(["run", `${flake}#tool`, ...override, "--", "--version"])
    assert.strictEqual(result.status, 0, result.stderr)
    const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"))
    assert.strictEqual(result.stdout.trim(), `tool v${version}`)
  })

  it("plans the bundled example with the packaged tool", () => {
    const result = nix(["run", `${flake}#tool`, ...override, "--", "plan", "--dry-run", "--branch", "master"], { cwd: exampleRepo() })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.deepStrictEqual(yamlPipelineErrors(result.stdout), [])
    assert.include(result.stdout, "build -- '.#packages.x86_64-linux.bot'")
  })

  it("builds the tool from nothing with npm unavailable, and plans with it", () => {
    // npm is `false` and its cache empty: nothing may come from npm at install time.
    const bin = mkdtempSync(join(tmpdir(), "ci-no-npm-"))
    for (const program of ["npm", "npx"]) {
      writeFileSync(join(bin, program), "#!/bin/sh\nexec false\n")
      chmodSync(join(bin, program), 0o755)
    }
    const env = { PATH: `${bin}:${process.env.PATH}`, npm_config_cache: mkdtempSync(join(tmpdir(), "ci-empty-npm-cache-")) }
    assert.strictEqual(spawnSync("npm", ["--version"], { env: { ...process.env, ...env } }).status, 1)

    // A stand-in of its own: every derivation is new, so the tool is built here, not found.
    const fresh = ["--override-input", "nixpkgs", `path:${nixpkgsStandIn({ nonce: randomUUID() })}`]
    const outPath = nix(["eval", "--raw", `${flake}#packages.x86_64-linux.tool.outPath`, ...fresh], { env })
    assert.strictEqual(outPath.status, 0, outPath.stderr)
    assert.notStrictEqual(spawnSync("nix-store", ["--check-validity", outPath.stdout]).status, 0, "the tool was already built")
    const result = join(mkdtempSync(join(tmpdir(), "ci-tool-")), "result")
    const build = nix(["build", "--out-link", result, `${flake}#tool`, ...fresh], { env })
    assert.strictEqual(build.status, 0, build.stderr)

    const plan = spawnSync(join(result, "bin/tool"), ["plan", "--dry-run", "--branch", "master"], {
      cwd: exampleRepo(),
      encoding: "utf8",
      env: { ...process.env, ...env }
    })
    assert.strictEqual(plan.status, 0, plan.stderr)
    assert.deepStrictEqual(yamlPipelineErrors(plan.stdout), [])
    assert.include(plan.stdout, "build -- '.#packages.x86_64-linux.bot'")
  })

  it("packages the bot's lazily loaded server and discord.js with the tool", () => {
    // The configuration is read inside that chunk: this error means it loaded.
    const result = nix(["run", `${flake}#tool`, ...override, "--", "bot"])
    assert.strictEqual(result.status, 2, result.stderr)
    assert.include(result.stderr, "error: bot configuration:\n  CI_BOT_BUILDKITE_WEBHOOK_TOKEN: is required\n")
  })

  it("makes a new project with nix flake init -t, which plans", () => {
    const project = mkdtempSync(join(tmpdir(), "ci-template-"))
    execFileSync("git", ["-C", project, "init", "--quiet", "--initial-branch", "main"])
    const init = nix(["flake", "init", "-t", `${flake}#default`], { cwd: project })
    assert.strictEqual(init.status, 0, init.stderr)
    execFileSync("git", ["-C", project, "add", "--all"])
    const lock = nix(["flake", "lock", ...override, "--override-input", "ci", `path:${inject("ciSnapshot")}`], { cwd: project })
    assert.strictEqual(lock.status, 0, lock.stderr)
    gitCommitAll(project, "from the template")

    const run = runTool(["plan", "--dry-run", "--format", "json", "--tag", "v1.0.0", "--branch", "main"], { cwd: project })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const plan = JSON.parse(run.stdout)
    assert.deepStrictEqual(plan.actions.map((action: { name: string; triggered: boolean }) => [action.name, action.triggered]), [["release", true]])
    // The template covers four systems: a build step for each, on its system's agents.
    assert.deepStrictEqual(plan.pipeline.steps.map((step: { key?: string } | string) => (typeof step === "string" ? step : step.key)), [
      "check-lint",
      "wait",
      "build-nix-x86_64-linux",
      "build-nix-aarch64-darwin",
      "build-nix-aarch64-linux",
      "build-nix-x86_64-darwin",
      "wait",
      "deploy-release"
    ])
    assert.deepStrictEqual(
      plan.pipeline.steps.filter((step: { key?: string } | string) => typeof step !== "string" && step.key!.startsWith("build-")).map((
        step: { agents?: unknown }
      ) => step.agents),
      ["x86_64-linux", "aarch64-darwin", "aarch64-linux", "x86_64-darwin"].map((system) => ({ system }))
    )
  })

  it("passes nix flake check: the tool builds and the library's tests pass", () => {
    const result = nix(["flake", "check", flake, ...override])
    assert.strictEqual(result.status, 0, result.stderr)
    const tests = nix(["build", "--no-link", "--print-build-logs", `${flake}#checks.x86_64-linux.lib-tests`, ...override])
    assert.strictEqual(tests.status, 0, tests.stderr)
  })

  it("has every output, for every system", () => {
    const evaluate = (attribute: string, apply: string) => {
      const result = nix(["eval", "--json", "--impure", `${flake}#${attribute}`, ...override, "--apply", apply])
      assert.strictEqual(result.status, 0, result.stderr)
      return JSON.parse(result.stdout)
    }
    const systems = ["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]
    for (const output of ["packages", "apps", "devShells", "checks", "formatter"]) {
      assert.deepStrictEqual(evaluate(output, "builtins.attrNames"), systems, output)
    }
    assert.deepStrictEqual(evaluate("packages.aarch64-darwin", "builtins.attrNames"), ["default", "tool"])
    assert.deepStrictEqual(evaluate("apps.x86_64-darwin", "builtins.attrNames"), ["default", "tool"])
    assert.deepStrictEqual(evaluate("checks.x86_64-linux", "builtins.attrNames"), ["lib-tests", "tool"])
    assert.strictEqual(evaluate("templates.default", "t: t.description"), "A flake whose CI is declared with ci.lib.mkActions")
    const pkgs = `(builtins.getFlake "path:${standIn}").legacyPackages.x86_64-linux`
    assert.strictEqual(evaluate("overlays.default", `overlay: (overlay ${pkgs} ${pkgs}).ci-tool.name`), "ci-tool-0.1.0")
    // Current Nix warns of an app without meta.description.
    const bySystem = (apply: string) => `outputs: builtins.mapAttrs (system: ${apply}) outputs`
    for (const system of systems) {
      assert.deepStrictEqual(evaluate("apps", bySystem("builtins.mapAttrs (name: app: app.meta.description)"))[system], {
        default: "Plan, check, build and deploy a flake's CI on Buildkite",
        tool: "Plan, check, build and deploy a flake's CI on Buildkite"
      })
    }
    assert.deepStrictEqual(evaluate("devShells", bySystem("shells: builtins.isString shells.default.drvPath")), Object.fromEntries(systems.map((system) => [system, true])))
    assert.deepStrictEqual(evaluate("formatter", bySystem("formatter: formatter.name")), Object.fromEntries(systems.map((system) => [system, "nixfmt-tree"])))
  })

  it("gives users without flakes the same library and tool in default.nix", () => {
    const pkgs = `(builtins.getFlake "path:${standIn}").legacyPackages.x86_64-linux`
    const lib = spawnSync("nix-instantiate", ["--eval", "--json", "--strict", "--expr", `(import ${checkout}/default.nix { pkgs = ${pkgs}; }).lib.steps.wait`], { encoding: "utf8" })
    assert.strictEqual(lib.status, 0, lib.stderr)
    assert.deepStrictEqual(JSON.parse(lib.stdout), { type: "wait" })
    const tool = spawnSync("nix-build", ["--no-out-link", `${checkout}/default.nix`, "-A", "tool", "--arg", "pkgs", pkgs], { encoding: "utf8" })
    assert.strictEqual(tool.status, 0, tool.stderr)
    assert.strictEqual(execFileSync(`${tool.stdout.trim()}/bin/tool`, ["--version"], { encoding: "utf8" }).trim().split(" ")[0], "tool")
  })
})

describe("any Nix from 2.8", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  repo.commit("example", {
    "flake.nix": `{ outputs = { self }: { packages.x86_64-linux.a = builtins.derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo a > $out" ]; }; }; }`
  })

  it("works when the user's configuration turns flakes off", () => {
    const run = runTool(["plan", "--dry-run", "--system", "x86_64-linux"], {
      cwd: repo.dir,
      env: { NIX_CONFIG: "experimental-features =\nbuild-users-group =\nsubstituters =" }
    })
    assert.strictEqual(run.exitCode, 0, run.stderr)
  })

  it("refuses a Nix that is too old, saying which and why", () => {
    const bin = mkdtempSync(join(tmpdir(), "ci-old-nix-"))
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, "nix"), "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'nix (Nix) 2.3.16'; exit 0; fi\necho \"error: unrecognised flag '$1'\" >&2; exit 1\n")
    chmodSync(join(bin, "nix"), 0o755)
    const run = runTool(["plan", "--dry-run", "--system", "x86_64-linux"], { cwd: repo.dir, env: { PATH: `${bin}:${process.env.PATH}` } })
    assert.strictEqual(run.exitCode, 1)
    assert.include(run.stderr, "error: nix is not usable here: nix (Nix) 2.3.16 is too old: ci needs Nix 2.8 or later, for flakes")
  })
})
