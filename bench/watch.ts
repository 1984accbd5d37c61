/**
 * bench/watch: how long `tool watch` takes from a file write to the new plan, against
 * one `nix eval` of the same flake's output paths (the work tree's, as watch sees it).
 *
 * The flake of bench/benchFlake.ts (N derivations of about 1 ms each). `tool watch`
 * runs with `--debounce 50`; each round a write changes ten derivations, and the
 * tool's own line says how long after the change it had the plan (`planned X ms after
 * the change`). Rounds alternate floor and tool; medians are compared.
 *
 *   node bench/watch.ts [SIZE]        (default: 1000; BENCH_ROUNDS=5)
 */
import { spawn } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { median, nixArgs, root, run, setUp, timed } from "./benchFlake.ts"

const size = Number(process.argv[2] ?? 1000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const setup = setUp(size)
const flakeFile = join(setup.repo, "flake.nix")

const floor = () =>
  run("nix", [
    ...nixArgs,
    "eval",
    "--json",
    "--impure",
    "--expr",
    `builtins.mapAttrs (name: p: p.outPath) (builtins.getFlake "git+file://${setup.repo}").packages.x86_64-linux`
  ], { cwd: setup.repo })

const child = spawn(join(root, "node_modules/.bin/node"), [join(root, "build/tool.mjs"), "watch", "--debounce", "50"], {
  cwd: setup.repo,
  stdio: ["ignore", "pipe", "inherit"]
})
let output = ""
child.stdout.on("data", (chunk) => (output += chunk))
const roundLine = async (n: number) => {
  const pattern = new RegExp(`^round ${n}: planned (\\d+) ms after the change`, "m")
  for (;;) {
    const match = pattern.exec(output)
    if (match !== null) return Number(match[1]) / 1000
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

try {
  await roundLine(1)
  const floors: Array<number> = []
  const plans: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    // A new version of ten derivations each time: never a plan seen before.
    writeFileSync(flakeFile, readFileSync(flakeFile, "utf8").replace(/then \d+ else 1/, `then ${100 + i} else 1`))
    plans.push(await roundLine(i + 2))
    floors.push(await timed(floor))
  }
  const [tool, nix] = [median(plans), median(floors)]
  console.log(`size ${size}: write to plan ${tool.toFixed(3)} s, one nix eval ${nix.toFixed(3)} s, ratio ${(tool / nix).toFixed(2)} (goal ≤ 1.2)`)
} finally {
  child.kill("SIGINT")
  rmSync(setup.work, { recursive: true, force: true })
}
