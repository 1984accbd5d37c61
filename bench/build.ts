/**
 * bench/build: what `tool build` costs over a bare `nix build --keep-going` of the
 * same installables: 50 small derivations, new to the store each round (a salt
 * changes every output), built by each in turn. Rounds alternate; medians compared.
 *
 *   node bench/build.ts [COUNT]          (default 50; BENCH_ROUNDS=5)
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const count = Number(process.argv[2] ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const nixArgs = ["--extra-experimental-features", "nix-command flakes"]

const flake = (salt: string) => `{
  outputs = { self }: {
    packages.x86_64-linux = builtins.listToAttrs (builtins.genList (i: {
      name = "p\${toString i}";
      value = builtins.derivation {
        name = "p\${toString i}";
        system = "x86_64-linux";
        builder = "/bin/sh";
        args = [ "-c" "echo \${toString i} ${salt} > $out" ];
      };
    }) ${count});
  };
}
`

const repo = mkdtempSync(join(tmpdir(), "ci-bench-build-"))
const git = (...args: Array<string>) => execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-C", repo, ...args])
git("init", "--quiet")
const installables = Array.from({ length: count }, (_, i) => `.#packages.x86_64-linux.p${i}`)

// A new salt: every output is new to the store, and the flake is committed so Nix sees it clean.
let round = 0
const freshOutputs = () => {
  writeFileSync(join(repo, "flake.nix"), flake(`${process.pid}-${Date.now()}-${round++}`))
  git("add", "--all")
  git("commit", "--quiet", "--allow-empty", "--message", "round")
}

const run = (command: string, args: ReadonlyArray<string>, expectCode = 0) =>
  new Promise<number>((resolve, reject) => {
    const start = process.hrtime.bigint()
    const child = spawn(command, args, { cwd: repo, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("exit", (code) =>
      code === expectCode ? resolve(Number(process.hrtime.bigint() - start) / 1e9) : reject(new Error(`${command} exited ${code}:\n${stderr}`))
    )
  })

const bare = () => run("nix", [...nixArgs, "build", "--keep-going", "--no-link", ...installables])
const tool = () => run(join(root, "bin/tool"), ["build", "--local", "--", ...installables])
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

try {
  // Warm up both (Node's compile cache, the fetcher cache), on outputs of their own.
  freshOutputs()
  await bare()
  freshOutputs()
  await tool()
  const bares: Array<number> = []
  const tools: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    freshOutputs()
    bares.push(await bare())
    freshOutputs()
    tools.push(await tool())
  }
  console.log(`bench/build: ${count} derivations, ${rounds} rounds, medians, fresh outputs each time`)
  console.log(`nix build --keep-going: ${median(bares).toFixed(2)} s   tool build: ${median(tools).toFixed(2)} s   tool/nix: ${(median(tools) / median(bares)).toFixed(3)}`)
} finally {
  rmSync(repo, { recursive: true, force: true })
}
