/**
 * bench/plan: how much `tool plan --dry-run` costs over the evaluation it cannot avoid.
 *
 * For each size, a flake of N derivations whose evaluation costs about 1 ms each
 * (a typical nixpkgs package), with a two-commit history that changes ten of them.
 * The floor is `nix eval --json` of the same output paths at base and head, run
 * concurrently; the tool is measured as a user runs it (`bin/tool`). Rounds
 * alternate floor and tool, and medians are compared, since these machines are
 * shared and noisy. The tool's own peak memory (Node's, not Nix's) is reported too.
 *
 *   node bench/plan.ts [SIZE ...]        (default: 1000 10000; BENCH_ROUNDS=3)
 */
import { execFileSync, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const nixArgs = ["--extra-experimental-features", "nix-command flakes"]
// Per derivation: a fold over a shared list of this many integers, about 1 ms.
const work = Number(process.env.BENCH_WORK ?? 8000)

const flake = (size: number, changedVersion: number) => `{
  inputs.ci.url = "github:denbeigh2000/ci";
  inputs.ci.inputs.nixpkgs.follows = "";
  outputs = { self, ci }:
    let
      system = "x86_64-linux";
      steps = builtins.genList (x: x) ${work};
      cost = i: builtins.foldl' (acc: k: builtins.bitXor acc (k * i)) i steps;
      version = i: if i < 10 then ${changedVersion} else 1;
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

const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C", cwd, ...args], { encoding: "utf8" }).trim()

const setUp = (size: number) => {
  const work = mkdtempSync(join(tmpdir(), `ci-bench-${size}-`))
  cpSync(join(root, "flake.nix"), join(work, "ci/flake.nix"))
  cpSync(join(root, "flake.lock"), join(work, "ci/flake.lock"))
  cpSync(join(root, "nix"), join(work, "ci/nix"), { recursive: true })
  const repo = join(work, "repo")
  git(work, "init", "--quiet", "--initial-branch", "master", repo)
  writeFileSync(join(repo, "flake.nix"), flake(size, 1))
  git(repo, "add", "--all")
  execFileSync("nix", [...nixArgs, "flake", "lock", "--override-input", "ci", `path:${join(work, "ci")}`], { cwd: repo, stdio: "ignore" })
  git(repo, "add", "--all")
  git(repo, "commit", "--quiet", "--message", "base")
  const base = git(repo, "rev-parse", "HEAD")
  writeFileSync(join(repo, "flake.nix"), flake(size, 2))
  git(repo, "commit", "--quiet", "--all", "--message", "head")
  return { work, repo, base, head: git(repo, "rev-parse", "HEAD") }
}

const run = (command: string, args: ReadonlyArray<string>, options: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}:\n${stderr}`))))
  })

const timed = async (body: () => Promise<unknown>) => {
  const start = process.hrtime.bigint()
  await body()
  return Number(process.hrtime.bigint() - start) / 1e9
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const floor = (repo: string, revs: ReadonlyArray<string>) =>
  Promise.all(revs.map((rev) =>
    run("nix", [
      ...nixArgs,
      "eval",
      "--json",
      "--expr",
      `builtins.mapAttrs (name: p: p.outPath) (builtins.getFlake "git+file://${repo}?rev=${rev}").packages.x86_64-linux`
    ], { cwd: repo })
  ))

const tool = (setup: ReturnType<typeof setUp>, rssFile: string) =>
  run(join(root, "bin/tool"), ["plan", "--dry-run", "--base", setup.base, "--head", setup.head], {
    cwd: setup.repo,
    env: { ...process.env, NODE_OPTIONS: `--import ${join(root, "bench/report-rss.mjs")}`, CI_BENCH_RSS_FILE: rssFile }
  })

const measure = async (size: number) => {
  const setup = setUp(size)
  const rssFile = join(setup.work, "rss")
  try {
    // One of each first: the store copies of both revisions and their .drv files are then shared.
    await floor(setup.repo, [setup.base, setup.head])
    await tool(setup, rssFile)
    const floors: Array<number> = []
    const tools: Array<number> = []
    const rss: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      floors.push(await timed(() => floor(setup.repo, [setup.base, setup.head])))
      tools.push(await timed(() => tool(setup, rssFile)))
      rss.push(Number(readFileSync(rssFile, "utf8")))
    }
    return { size, floor: median(floors), tool: median(tools), rssMb: Math.max(...rss) / 1024 / 1024 }
  } finally {
    rmSync(setup.work, { recursive: true, force: true })
  }
}

console.log(`bench/plan: ${rounds} rounds per size, medians; floor = nix eval of the output paths at base and head, concurrently`)
console.log("derivations  floor (s)  tool (s)  tool/floor  tool peak RSS (MB)")
for (const size of sizes.length > 0 ? sizes : [1000, 10000]) {
  const result = await measure(size)
  console.log(
    `${String(result.size).padStart(11)}  ${result.floor.toFixed(2).padStart(9)}  ${result.tool.toFixed(2).padStart(8)}  ${
      (result.tool / result.floor).toFixed(3).padStart(10)
    }  ${result.rssMb.toFixed(0).padStart(18)}`
  )
}
