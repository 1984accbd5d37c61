/**
 * What bench/plan.ts and bench/why.ts share: the flake of N derivations whose
 * evaluation costs about 1 ms each (a typical nixpkgs package), in a two-commit
 * history that changes ten of them, and the timing helpers.
 */
import { execFileSync, spawn } from "node:child_process"
import { cpSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { nodeBinary, toolArgs } from "../test/support/paths.ts"

export const root = fileURLToPath(new URL("..", import.meta.url))
export const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
export const nixArgs = ["--extra-experimental-features", "nix-command flakes"]
// Per derivation: a fold over a shared list of this many integers, about 1 ms.
export const defaultWork = Number(process.env.BENCH_WORK ?? 8000)
/** How many derivations the head commit changes: p0 to p9. */
export const changedCount = 10

const flake = (size: number, work: number, changedVersion: number) => `{
  inputs.ci.url = "github:denbeigh2000/ci";
  inputs.ci.inputs.nixpkgs.follows = "";
  outputs = { self, ci }:
    let
      system = "x86_64-linux";
      steps = builtins.genList (x: x) ${work};
      cost = i: builtins.foldl' (acc: k: builtins.bitXor acc (k * i)) i steps;
      version = i: if i < ${changedCount} then ${changedVersion} else 1;
      mk = i: builtins.derivation {
        name = "p\${toString i}";
        inherit system;
        builder = "/bin/sh";
        args = [ "-c" "echo \${toString (cost i)} \${toString (version i)} > $out" ];
      };
    in {
      packages.\${system} = builtins.listToAttrs (builtins.genList (i: { name = "p\${toString i}"; value = mk i; }) ${size});
      ciActions = ci.lib.mkActions {
        inherit self;
        actions.deploy = {
          conditions = [ { branch = "master"; } { changed = [ self.packages.\${system}.p0 ]; } ];
          builds = [ self.packages.\${system}.p1 ];
        };
      };
    };
}
`

export const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C", cwd, ...args], { encoding: "utf8" }).trim()

export interface BenchFlake {
  /** The scratch directory to remove afterwards. */
  readonly work: string
  readonly repo: string
  readonly base: string
  readonly head: string
}

export const setUp = (size: number, work = defaultWork): BenchFlake => {
  const scratch = mkdtempSync(join(tmpdir(), `ci-bench-${size}-`))
  cpSync(join(root, "flake.nix"), join(scratch, "ci/flake.nix"))
  cpSync(join(root, "flake.lock"), join(scratch, "ci/flake.lock"))
  cpSync(join(root, "nix"), join(scratch, "ci/nix"), { recursive: true })
  const repo = join(scratch, "repo")
  git(scratch, "init", "--quiet", "--initial-branch", "master", repo)
  writeFileSync(join(repo, "flake.nix"), flake(size, work, 1))
  git(repo, "add", "--all")
  execFileSync("nix", [...nixArgs, "flake", "lock", "--override-input", "ci", `path:${join(scratch, "ci")}`], { cwd: repo, stdio: "ignore" })
  git(repo, "add", "--all")
  git(repo, "commit", "--quiet", "--message", "base")
  const base = git(repo, "rev-parse", "HEAD")
  writeFileSync(join(repo, "flake.nix"), flake(size, work, 2))
  git(repo, "commit", "--quiet", "--all", "--message", "head")
  return { work: scratch, repo, base, head: git(repo, "rev-parse", "HEAD") }
}

/** Run a command to its end; stdout is returned when asked for (else discarded), stderr kept for the error. */
export const run = (command: string, args: ReadonlyArray<string>, options: { cwd: string; env?: NodeJS.ProcessEnv; stdout?: boolean }) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", options.stdout === true ? "pipe" : "ignore", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk) => (stdout += chunk))
    child.stderr?.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}:\n${stderr}`))))
  })

export const timed = async (body: () => Promise<unknown>) => {
  const start = process.hrtime.bigint()
  await body()
  return Number(process.hrtime.bigint() - start) / 1e9
}

export const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/**
 * `tool ARGS` as the package runs it (nix/package.nix's wrapper): Node, its flags, and `tool plan`
 * from the snapshot of its code or every other command from the loader, here the working tree's.
 * bin/tool also looks for changed sources first, which the package does not: it is run once
 * here, and builds the bundle and the snapshot when a source is newer.
 */
export const packagedTool = (() => {
  execFileSync(join(root, "bin/tool"), ["--version"], { stdio: "ignore" })
  // How the tests start it too (test/support/paths.ts).
  return (args: ReadonlyArray<string>) => ({ command: nodeBinary, args: toolArgs(args) })
})()

/** `tool plan --dry-run` of the bench flake, as a user runs it; cold (`--no-cache`) unless `cache` is set. */
export const toolPlan = (setup: BenchFlake, env: NodeJS.ProcessEnv = process.env, options: { readonly cache?: boolean; readonly flags?: ReadonlyArray<string> } = {}) => {
  const tool = packagedTool([
    "plan",
    "--dry-run",
    ...(options.cache === true ? [] : ["--no-cache"]),
    "--base",
    setup.base,
    "--head",
    setup.head,
    ...(options.flags ?? [])
  ])
  return run(tool.command, tool.args, { cwd: setup.repo, env })
}
