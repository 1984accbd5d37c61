/**
 * bench/plan: how much `tool plan --dry-run` costs over the evaluation it cannot avoid.
 *
 * For each size, the flake of bench/benchFlake.ts: N derivations whose evaluation
 * costs about 1 ms each, with a two-commit history that changes ten of them.
 * The floor is `nix eval --json` of the same output paths at base and head, run
 * concurrently; the tool is measured as a user runs it (`bin/tool`). Rounds
 * alternate floor and tool, and medians are compared, since these machines are
 * shared and noisy. The tool's own peak memory (Node's, not Nix's) is reported too.
 *
 *   node bench/plan.ts [SIZE ...]        (default: 1000 10000; BENCH_ROUNDS=3)
 */
import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { type BenchFlake, median, nixArgs, root, rounds, run, setUp, timed, toolPlan } from "./benchFlake.ts"

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)

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

const tool = (setup: BenchFlake, rssFile: string) =>
  toolPlan(setup, { ...process.env, NODE_OPTIONS: `--import ${join(root, "bench/report-rss.mjs")}`, CI_BENCH_RSS_FILE: rssFile })

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
