/**
 * bench/plan: what `tool plan --dry-run` and `tool` itself cost over what they cannot avoid,
 * each goal of issue 12 a ratio measured in this run against its floor.
 *
 * - startup: `tool --version` and `tool --help` against `node -e 0` (goal ≤ 2.5 ×).
 * - cold: a plan with nothing cached (`--no-cache`) against two concurrent `nix eval`s of
 *   the same output paths at base and head, on the flake of bench/benchFlake.ts (N
 *   derivations of about 1 ms each, ten changed): goal ≤ 1.10 × at 1,000 and 10,000, within
 *   0.15 s on 3 derivations; the tool's own peak RSS at 10,000 ≤ 100 MB.
 * - warm: a plan whose base is in the evaluation cache (its head is not) against one
 *   `nix eval` of head: goal ≤ 1.05 ×.
 * - scale: cold plans at 1,000 and 50,000 derivations of less work each (`BENCH_SCALE_WORK`,
 *   default 800: about 0.1 ms), and how time and memory grow from one to the other, the
 *   tool's against the floor's (Nix's peak RSS): goal, the tool grows no faster.
 *
 * Rounds alternate floor and tool and medians are compared, since these machines are
 * shared and noisy; the tool runs as the package runs it (`packagedTool`).
 *
 *   node bench/plan.ts [startup|cold|warm|scale ...]     (default: all; BENCH_ROUNDS=3)
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BenchFlake, median, nixArgs, packagedTool, root, rounds, run, setUp, timed, toolPlan } from "./benchFlake.ts"

const sections = process.argv.slice(2)
const wanted = (section: string) => sections.length === 0 || sections.includes(section)
const scaleWork = Number(process.env.BENCH_SCALE_WORK ?? 800)
const node = join(root, "node_modules/.bin/node")
const scratch = mkdtempSync(join(tmpdir(), "ci-bench-plan-"))
const rssFile = join(scratch, "rss")
const nixRssFiles = [join(scratch, "nix-rss-0"), join(scratch, "nix-rss-1")]

const verdict = (ok: boolean) => (ok ? "ok" : "MISSED")
const ratio = (value: number) => `${value.toFixed(3)} ×`
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

// One `nix eval` of the output paths, its peak RSS written to `rssOut` by GNU time.
const nixEval = (repo: string, rev: string, rssOut: string) =>
  run("/usr/bin/time", [
    "-f",
    "%M",
    "-o",
    rssOut,
    "nix",
    ...nixArgs,
    "eval",
    "--json",
    "--expr",
    `builtins.mapAttrs (name: p: p.outPath) (builtins.getFlake "git+file://${repo}?rev=${rev}").packages.x86_64-linux`
  ], { cwd: repo })

const floor = (setup: BenchFlake) => Promise.all([setup.base, setup.head].map((rev, i) => nixEval(setup.repo, rev, nixRssFiles[i]!)))
const floorRss = () => Math.max(...nixRssFiles.filter((file) => existsSync(file)).map((file) => Number(readFileSync(file, "utf8").trim()) * 1024))

const withRss = (env: NodeJS.ProcessEnv = {}) => ({
  ...process.env,
  ...env,
  NODE_OPTIONS: `--require ${join(root, "bench/report-rss.cjs")}`,
  CI_BENCH_RSS_FILE: rssFile
})

/**
 * Interleaved rounds of a floor and the tool, after one of each unmeasured (the store is then warm).
 * `prepare` runs before each of the tool's runs, untimed: what the run starts from.
 */
const compare = async (floorRun: () => Promise<unknown>, toolRun: () => Promise<unknown>, count = rounds, prepare: () => void = () => {}) => {
  await floorRun()
  prepare()
  await toolRun()
  const floors: Array<number> = []
  const tools: Array<number> = []
  const toolRss: Array<number> = []
  const nixRss: Array<number> = []
  for (let round = 0; round < count; round++) {
    floors.push(await timed(floorRun))
    nixRss.push(floorRss())
    prepare()
    tools.push(await timed(toolRun))
    toolRss.push(Number(readFileSync(rssFile, "utf8")))
  }
  return { floor: median(floors), tool: median(tools), toolRss: Math.max(...toolRss), floorRss: Math.max(...nixRss) }
}

const withFlake = async <A>(size: number, work: number | undefined, body: (setup: BenchFlake) => Promise<A>) => {
  const setup = setUp(size, work)
  try {
    return await body(setup)
  } finally {
    rmSync(setup.work, { recursive: true, force: true })
  }
}

const cold = (size: number, work?: number) =>
  withFlake(size, work, (setup) => compare(() => floor(setup), () => toolPlan(setup, withRss())))

try {
  if (wanted("startup")) {
    const count = Math.max(rounds * 5, 15)
    const times = { node: [] as Array<number>, version: [] as Array<number>, help: [] as Array<number> }
    const tool = (arg: string) => {
      const command = packagedTool([arg])
      return run(command.command, command.args, { cwd: root })
    }
    for (let round = 0; round < count; round++) {
      times.node.push(await timed(() => run(node, ["-e", "0"], { cwd: root })))
      times.version.push(await timed(() => tool("--version")))
      times.help.push(await timed(() => tool("--help")))
    }
    const floorTime = median(times.node)
    console.log(`startup (${count} rounds, medians; node build/tool.mjs as the package runs it): floor node -e 0 ${floorTime.toFixed(3)} s`)
    for (const [name, values] of [["tool --version", times.version], ["tool --help", times.help]] as const) {
      const r = median(values) / floorTime
      console.log(`  ${name.padEnd(15)} ${median(values).toFixed(3)} s  ${ratio(r)} the floor  (goal ≤ 2.5 ×: ${verdict(r <= 2.5)})`)
    }
  }

  if (wanted("cold")) {
    console.log(`cold plan (--no-cache; ${rounds} rounds, medians): floor = nix eval of the output paths at base and head, concurrently`)
    console.log("  derivations  floor (s)  tool (s)  tool/floor  tool RSS   goal")
    for (const size of [3, 1000, 10000]) {
      const result = await cold(size)
      const r = result.tool / result.floor
      const goal = size === 3
        ? `tool − floor ${(result.tool - result.floor).toFixed(2)} s ≤ 0.15 s: ${verdict(result.tool - result.floor <= 0.15)}`
        : `≤ 1.10 ×: ${verdict(r <= 1.1)}${size === 10000 ? `; RSS ≤ 100 MB: ${verdict(result.toolRss <= 100 * 1024 * 1024)}` : ""}`
      console.log(
        `  ${String(size).padStart(11)}  ${result.floor.toFixed(2).padStart(9)}  ${result.tool.toFixed(2).padStart(8)}  ${ratio(r).padStart(10)}  ${
          mb(result.toolRss).padStart(8)
        }   ${goal}`
      )
    }
  }

  if (wanted("warm")) {
    console.log(`warm plan (base cached, head not; ${rounds} rounds, medians): floor = one nix eval of head`)
    console.log("  derivations  floor (s)  tool (s)  tool/floor  goal")
    for (const size of [1000, 10000]) {
      const result = await withFlake(size, undefined, async (setup) => {
        // A cache holding the base only, as after a plan of the base commit; each round starts from a copy.
        const primed = join(scratch, `primed-${size}`)
        const primer = packagedTool(["plan", "--dry-run", "--head", setup.base])
        await run(primer.command, primer.args, { cwd: setup.repo, env: { ...process.env, XDG_CACHE_HOME: primed } })
        // A copy of that cache for each run, made before it is timed (the floor copies nothing).
        let cache = ""
        const fresh = () => {
          if (cache !== "") rmSync(cache, { recursive: true, force: true })
          cache = mkdtempSync(join(scratch, "warm-"))
          cpSync(primed, cache, { recursive: true })
        }
        const warmRun = () => toolPlan(setup, withRss({ XDG_CACHE_HOME: cache }), { cache: true })
        return compare(() => nixEval(setup.repo, setup.head, nixRssFiles[0]!), warmRun, rounds, fresh)
      })
      const r = result.tool / result.floor
      console.log(
        `  ${String(size).padStart(11)}  ${result.floor.toFixed(2).padStart(9)}  ${result.tool.toFixed(2).padStart(8)}  ${ratio(r).padStart(10)}  ≤ 1.05 ×: ${
          verdict(r <= 1.05)
        }`
      )
    }
  }

  if (wanted("scale")) {
    console.log(`scale (cold plans, derivations of ${scaleWork}-step work, about 0.1 ms each; ${rounds} rounds, medians)`)
    const small = await cold(1000, scaleWork)
    const large = await cold(50000, scaleWork)
    console.log("  derivations  floor (s)  tool (s)  tool/floor  floor RSS (Nix)  tool RSS (Node)")
    for (const [size, result] of [[1000, small], [50000, large]] as const) {
      console.log(
        `  ${String(size).padStart(11)}  ${result.floor.toFixed(2).padStart(9)}  ${result.tool.toFixed(2).padStart(8)}  ${
          ratio(result.tool / result.floor).padStart(10)
        }  ${mb(result.floorRss).padStart(15)}  ${mb(result.toolRss).padStart(15)}`
      )
    }
    const timeGrowth = { floor: large.floor / small.floor, tool: large.tool / small.tool }
    const rssGrowth = { floor: large.floorRss / small.floorRss, tool: large.toolRss / small.toolRss }
    console.log(
      `  1k → 50k time:   floor ${timeGrowth.floor.toFixed(1)} ×, tool ${timeGrowth.tool.toFixed(1)} ×  (tool's growth / floor's ${
        ratio(timeGrowth.tool / timeGrowth.floor)
      }; goal ≤ 1: ${verdict(timeGrowth.tool <= timeGrowth.floor)})`
    )
    console.log(
      `  1k → 50k memory: floor ${rssGrowth.floor.toFixed(1)} ×, tool ${rssGrowth.tool.toFixed(1)} ×  (tool's growth / floor's ${
        ratio(rssGrowth.tool / rssGrowth.floor)
      }; goal ≤ 1: ${verdict(rssGrowth.tool <= rssGrowth.floor)})`
    )
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
