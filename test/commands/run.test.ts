import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { displayWidth } from "../../src/render/board.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { nixpkgsStandIn } from "../support/nixpkgsStandIn.ts"
import { repoRoot } from "../support/paths.ts"
import { runOnTerminal } from "../support/terminal.ts"
import { runTool } from "../support/tool.ts"

/** `tool run` against real Nix and git: on a pipe, on a pseudo-terminal, on the example and a template-made flake. */

const salt = `${Date.now()}-${process.pid}`
const flakeWith = (version: string, style = "exit 0") =>
  fixtureFlake({
    outputs: `
      packages.x86_64-linux.bot = drv "bot" [ "${version}" "${salt}" ];
      apps.x86_64-linux = {
        lint = cmd "lint" "echo linted ${salt}";
        style = cmd "style" "echo 'bad indentation at flake.nix:3'; ${style}";
        deploy = cmd "deploy" "echo deployed ${salt}";
      };`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        actions = { system }: {
          deployBot = {
            conditions = [ { branch = "master"; } { changed = [ p.bot ]; } ];
            checks = [ { name = "lint"; displayName = "Lint"; target = a.lint; } { name = "style"; displayName = "Style"; target = a.style; } ];
            deploySteps = [
              { name = "staging"; label = "Deploy to staging"; target = a.deploy; }
              { type = "block"; prompt = "Ship it?"; }
              { name = "production"; label = "Deploy to production"; target = a.deploy; }
            ];
          };
        };
      }`
  })

const escapes = /\x1b\[/

describe("tool run", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const first = repo.commit("first", { "flake.nix": flakeWith("1") })
  // Uncommitted: the bot changes and the style check fails, in the work tree only.
  repo.write({ "flake.nix": flakeWith("2", "exit 3") })

  it("plans the work tree against HEAD, runs the checks and the build, and fails as a check did (a pipe)", () => {
    const run = runTool(["run"], { cwd: repo.dir })
    assert.strictEqual(run.exitCode, 1, run.stderr)
    assert.include(run.stderr, "uncommitted changes included")
    assert.include(run.stderr, `against ${first.slice(0, 12)} (HEAD (the branch has no upstream))`)
    assert.notMatch(run.stdout, escapes)
    assert.match(run.stdout, /^✓ check Lint \d/m)
    assert.match(run.stdout, /^✗ check Style .*exit code 3\n {4}bad indentation at flake\.nix:3$/m)
    assert.match(run.stdout, /^✓ build \(\d+ targets?\)/m)
    assert.match(run.stdout, /^2 passed, 1 failed in /m)
    assert.include(run.stderr, "error: not everything passed: 2 passed, 1 failed")
    // The bot built is the work tree's, which no commit holds.
    const built = execFileSync("nix", ["eval", "--raw", "--impure", `${repo.dir}#packages.x86_64-linux.bot.outPath`], { encoding: "utf8" })
    assert.strictEqual(execFileSync("nix-store", ["--check-validity", "--print-invalid", built], { encoding: "utf8" }), "")
    assert.deepStrictEqual(run.agentCalls, [])
    const logs = runTool(["run", "-L"], { cwd: repo.dir })
    assert.strictEqual(logs.exitCode, 1, logs.stderr)
    assert.include(logs.stdout, `lint> linted ${salt}\n`)
    assert.include(logs.stdout, "style> bad indentation at flake.nix:3\n")
  })

  it("runs the deploy steps in order, stopping at a block on a pipe, or past it with --yes", () => {
    const fixed = FixtureRepo.create(inject("ciSnapshot"))
    fixed.commit("first", { "flake.nix": flakeWith("1") })
    fixed.write({ "flake.nix": flakeWith("3") })
    const stopped = runTool(["run", "--deploy"], { cwd: fixed.dir })
    assert.strictEqual(stopped.exitCode, 0, stopped.stderr)
    assert.match(stopped.stdout, /^✓ deploy deployBot: Deploy to staging/m)
    assert.match(stopped.stdout, /^- block \(deployBot\) {2}blocked: run with --yes/m)
    assert.match(stopped.stdout, /^- deploy deployBot: Deploy to production {2}blocked/m)
    const yes = runTool(["run", "--deploy", "--yes"], { cwd: fixed.dir })
    assert.strictEqual(yes.exitCode, 0, yes.stderr)
    assert.match(yes.stdout, /✓ deploy deployBot: Deploy to staging[^\n]*\n✓ block \(deployBot\) [^\n]*--yes\n▸ deploy deployBot: Deploy to production\n✓ deploy deployBot: Deploy to production/)
    assert.match(yes.stdout, /^6 passed, 0 failed in /m)
    // Not a build of master: the action does not trigger, nothing deploys.
    const other = runTool(["run", "--deploy", "--yes", "--branch", "feature"], { cwd: fixed.dir })
    assert.strictEqual(other.exitCode, 0, other.stderr)
    assert.include(other.stderr, "No action triggered.")
    assert.notInclude(other.stdout, "deploy")
  })

  it("plans an action that deploys from another system as tool plan does: its steps and their builds are that system's", () => {
    const elsewhere = FixtureRepo.create(inject("ciSnapshot"))
    const flake = (version: string) =>
      fixtureFlake({
        outputs: `
      packages.x86_64-linux.bot = drv "bot" [ "${version}" "${salt}" ];
      apps.x86_64-linux.deploy = cmd "deploy" "echo deployed ${salt}";
      # Never built here: this machine builds no aarch64-linux derivation.
      apps.aarch64-linux.deploy = { type = "app"; program = "\${builtins.derivation { name = "deploy"; system = "aarch64-linux"; builder = "/bin/sh"; }}/bin/deploy"; };`,
        ciActions: `ci.lib.mkActions { inherit self; actions = { system }: {
        deployBot = { deploySystem = "aarch64-linux"; deploySteps = [ { name = "ship"; target = self.apps.\${system}.deploy; } ]; };
      }; }`
      })
    elsewhere.commit("first", { "flake.nix": flake("1") })
    elsewhere.write({ "flake.nix": flake("2") })
    const run = runTool(["run"], { cwd: elsewhere.dir })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.match(run.stdout, /^✓ build \(1 target\)/m)
    assert.include(run.stdout, "1 action deploys; not run without --deploy")
  })

  it("draws a live board on a terminal, in colour unless NO_COLOR, and asks at a block", () => {
    const fixed = FixtureRepo.create(inject("ciSnapshot"))
    fixed.commit("first", { "flake.nix": flakeWith("1") })
    fixed.write({ "flake.nix": flakeWith("4") })
    const run = runOnTerminal(["run", "--deploy"], { cwd: fixed.dir, input: "y\n" })
    assert.strictEqual(run.exitCode, 0, run.output)
    assert.match(run.output, /\x1b\[\d+A\r\x1b\[J/, "the board is redrawn in place")
    assert.include(run.output, "\x1b[32m✓\x1b[0m check Lint")
    assert.include(run.output, "Ship it? (deployBot): continue? [y/N]")
    assert.match(run.output, /✓\x1b\[0m deploy deployBot: Deploy to production/)
    const plain = runOnTerminal(["run"], { cwd: fixed.dir, env: { NO_COLOR: "1" } })
    assert.strictEqual(plain.exitCode, 0, plain.output)
    assert.match(plain.output, /\x1b\[\d+A/)
    assert.notMatch(plain.output, /\x1b\[3\dm/)
    const dumb = runOnTerminal(["run"], { cwd: fixed.dir, env: { TERM: "dumb" } })
    assert.strictEqual(dumb.exitCode, 0, dumb.output)
    assert.notMatch(dumb.output, escapes)
    assert.match(dumb.output, /✓ check Lint/)
    const refused = runOnTerminal(["run", "--deploy"], { cwd: fixed.dir, input: "n\n" })
    assert.strictEqual(refused.exitCode, 0, refused.output)
    assert.include(refused.output, "\x1b[33m-\x1b[0m deploy deployBot: Deploy to production  not approved")
  })

  it("cuts the board's lines to a narrow terminal, so each redraw in place covers the last", () => {
    const columns = 24
    const run = runOnTerminal(["run"], { cwd: repo.dir, columns })
    assert.strictEqual(run.exitCode, 1, run.output)
    // The board's lines (a row starts with its mark, a log tail with four spaces), as the terminal shows them.
    const shown = run.output.split(/\r?\n/).map((line) => line.replace(/\x1b\[\d*A\r\x1b\[J|\x1b\[[0-9;]*m/g, ""))
    const board = shown.filter((line) => /^([·▸✓✗-] |    \S)/.test(line))
    assert.isNotEmpty(board)
    for (const line of board) assert.isAtMost(displayWidth(line), columns, JSON.stringify(line))
    assert.include(board, "    bad indentation at …")
    assert.isTrue(board.some((line) => /^✗ check Style .*…$/.test(line)), board.join("\n"))
  })

  it("compares with the merge-base of the upstream branch, and refuses a --base that is not a commit", () => {
    const upstream = FixtureRepo.create(inject("ciSnapshot"))
    const base = upstream.commit("first", { "flake.nix": flakeWith("1") })
    const clone = join(mkdtempSync(join(tmpdir(), "ci-run-clone-")), "clone")
    execFileSync("git", ["clone", "--quiet", upstream.dir, clone])
    writeFileSync(join(clone, "flake.nix"), flakeWith("5"))
    execFileSync("git", ["-C", clone, "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "--quiet", "-am", "bot 5"])
    const run = runTool(["run"], { cwd: clone })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.include(run.stderr, `against ${base.slice(0, 12)} (the merge-base with the upstream branch)`)
    assert.notInclude(run.stderr, "uncommitted")
    assert.match(run.stdout, /^✓ build \(\d+ targets?\)/m)
    const typo = runTool(["run", "--base", "nosuchrev"], { cwd: clone })
    assert.strictEqual(typo.exitCode, 2)
    assert.match(typo.stderr, /^error: --base: nosuchrev is not a commit in /m)
  })

  it("runs the bundled example through its deploy, as a tag build of master", () => {
    const example = FixtureRepo.copyOf(inject("ciSnapshot"), join(repoRoot, "examples/basic"), "master")
    const dir = example.dir
    example.lock()
    example.commit("example")
    const run = runTool(["run", "--base", "HEAD", "--tag", "v1.0.0", "--branch", "master", "--deploy", "--yes"], { cwd: dir })
    // Nothing changed against HEAD, so the bot's `changed` condition does not hold.
    assert.strictEqual(run.exitCode, 0, run.stderr)
    assert.include(run.stderr, "No action triggered.")
    writeFileSync(join(dir, "flake.nix"), execFileSync("sed", ["s/\"bot\" \"1.0.0\"/\"bot\" \"1.0.1\"/", join(dir, "flake.nix")], { encoding: "utf8" }))
    const changed = runTool(["run", "--tag", "v1.0.0", "--branch", "master", "--deploy", "--yes"], { cwd: dir })
    assert.strictEqual(changed.exitCode, 0, changed.stderr)
    assert.include(changed.stderr, "Triggered: deployBot.")
    assert.match(changed.stdout, /^✓ check Lint bot/m)
    assert.match(changed.stdout, /^✓ deploy deployBot: CI Bot: production deploy/m)
    assert.match(changed.stdout, /^7 passed, 0 failed in /m)
  })

  it("runs a flake made from the template", () => {
    const made = FixtureRepo.copyOf(inject("ciSnapshot"), join(repoRoot, "templates/default"), "main")
    const project = made.dir
    execFileSync("nix", ["flake", "lock", "--override-input", "nixpkgs", `path:${nixpkgsStandIn()}`, "--override-input", "ci", `path:${inject("ciSnapshot")}`], {
      cwd: project,
      stdio: "ignore"
    })
    made.commit("from the template")
    const run = runTool(["run", "--base", "HEAD", "--tag", "v1.0.0", "--branch", "main"], { cwd: project })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    const onTerminal = runOnTerminal(["run", "--tag", "v1.0.0", "--branch", "main"], { cwd: project })
    assert.strictEqual(onTerminal.exitCode, 0, onTerminal.output)
    assert.match(onTerminal.output, /passed, 0 failed in /)
  })
})
