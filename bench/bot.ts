/**
 * bench/bot: how fast `tool bot` answers Buildkite's webhooks while it keeps 60
 * builds' messages up to date, and how much memory it takes doing so.
 *
 * The load: 60 pushes (a CI build and its deploy each, as in test/support/ciLifecycle.ts),
 * 630 signed deliveries in all, each push moving from scheduled to finished in the
 * fake REST API as its deliveries go out, sent by 16 concurrent senders; the fake
 * Discord answers every fifth request with a 429. Before it, a warm-up of 160 deliveries about
 * 16 other pushes, drained and not measured (BENCH_WARMUP; 0 for none): a bot that has
 * run a while, as Buildkite usually meets it. Scenarios: `steady`, and `kills`
 * (the bot SIGKILLed and restarted after each quarter of the deliveries; a delivery
 * cut off is sent again, as Buildkite would, and counted once).
 *
 * Each scenario runs, in turn, BENCH_ROUNDS times (default 3), comparing medians:
 * the bot as users run it (the bundle); bot-lean, the same with the memory settings
 * docs/bot.md suggests; the floor (bench/bot-floor.ts: the signature check and the
 * committed delivery alone); and with each --baseline DIR another checkout's bundle
 * (named by its directory: its build/, made there with `node scripts/build.mjs --outdir
 * build`, or else its committed dist/). Per run: webhook latency
 * p50 and p99 as the sender sees it, deliveries answered per second, the bot's peak
 * RSS (VmHWM), and the time from the last answer until /healthz reports nothing
 * pending. Each run also checks the outcome: one message per push, each ending in
 * its finished state.
 *
 *   node bench/bot.ts [--baseline DIR ...] [--scenario steady|kills] [--only bot|floor|NAME]
 *   BENCH_ROUNDS=3 BENCH_DEBOUNCE_MS=1000 BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir={dir}"
 *   BENCH_BOT=src/cli.ts (the sources, for a profile with their names)
 *   BENCH_DB_DIR=/dev/shm (the database off the disk: what fsync costs, by difference)
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { type Stage } from "../test/support/ciLifecycle.ts"
import { bodyOf, BotProcess, type BotOptions, deliveries, setStage, webhookHeaders } from "../test/support/botProcess.ts"
import { FakeBuildkite } from "../test/support/fakeBuildkite.ts"
import { FakeDiscord } from "../test/support/fakeDiscord.ts"
import { repoRoot, toolBundle } from "../test/support/paths.ts"

const { values: flags } = parseArgs({
  options: { baseline: { type: "string", multiple: true }, scenario: { type: "string", multiple: true }, only: { type: "string", multiple: true } }
})
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const debounce = process.env.BENCH_DEBOUNCE_MS ?? "1000"
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
const pushes = 60
const total = 630
const senders = 16
const warmup = Number(process.env.BENCH_WARMUP ?? 160)

interface Variant {
  readonly name: string
  readonly bundle: string
  readonly nodeArgs?: ReadonlyArray<string>
  readonly env?: Record<string, string>
}
const botBundle = process.env.BENCH_BOT ?? toolBundle
const variants: ReadonlyArray<Variant> = [
  { name: "floor", bundle: join(repoRoot, "bench/bot-floor.ts") },
  ...(flags.baseline ?? []).map((dir) => ({
    name: basename(resolve(dir)),
    bundle: existsSync(join(dir, "build/tool.mjs")) ? join(dir, "build/tool.mjs") : join(dir, "dist/tool.mjs")
  })),
  { name: "bot", bundle: botBundle },
  // The same bot with the memory settings docs/bot.md suggests: a 1 MiB young generation, one malloc arena.
  { name: "bot-lean", bundle: botBundle, nodeArgs: ["--max-semi-space-size=1"], env: { MALLOC_ARENA_MAX: "1" } }
].filter((variant) => flags.only === undefined || flags.only.includes(variant.name))
const scenarios = (flags.scenario ?? ["steady", "kills"]).map((name) => ({ name, kills: name === "kills" ? 3 : 0 }))

// A push's life without approvals (the fake API moves past the block by itself).
const path: ReadonlyArray<Stage> = ["scheduled", "checking", "building", "built", "deploying", "blocked", "finished"]

/** The deliveries in the order they are sent: the pushes' lives interleaved, 10 or 11 deliveries each. */
const schedule = (pushes: number, total: number, first = 0) => {
  const lives = Array.from({ length: pushes }, (_, i) => {
    const push = first + i
    const count = Math.floor(total / pushes) + (i < total % pushes ? 1 : 0)
    return Array.from({ length: count }, (_, j) => {
      const stage = path[Math.round((j * (path.length - 1)) / (count - 1))]!
      const options = deliveries[stage]
      return { push, stage, delivery: options[j % options.length]! }
    })
  })
  return Array.from({ length: Math.max(...lives.map((life) => life.length)) }, (_, j) => lives.flatMap((life) => life[j] ?? []))
    .flat()
}

const peakRss = (pid: number | undefined): number => {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

/** CPU time the process has used, all its threads, in seconds: steadier than latency on a busy machine. */
const cpuSeconds = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const percentile = (values: ReadonlyArray<number>, p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!
const median = (values: ReadonlyArray<number>) => percentile(values, 50)

interface Result {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly perSecond: number
  readonly rssMiB: number
  readonly cpuSeconds: number
  readonly drainSeconds: number
  readonly resent: number
  readonly problems: ReadonlyArray<string>
}

const run = async (variant: Variant, kills: number): Promise<Result> => {
  const discord = await new FakeDiscord().start()
  const buildkite = await new FakeBuildkite().start()
  discord.rateLimitEvery = 5
  const dir = mkdtempSync(join(process.env.BENCH_DB_DIR ?? tmpdir(), "ci-bench-bot-"))
  const options: BotOptions = {
    database: join(dir, "bot.sqlite"),
    discord,
    buildkite,
    transport: "bot",
    bundle: variant.bundle,
    nodeArgs: [...(variant.nodeArgs ?? []), ...nodeArgs.map((arg) => arg.replace("{dir}", dir))],
    env: { CI_BOT_DEBOUNCE_MS: debounce, ...variant.env }
  }
  let bot = await BotProcess.start(options)
  let up = Promise.resolve(bot)
  let peak = 0
  let cpu = 0
  const reached = new Map<number, number>()
  const queue = schedule(pushes, total)
  const killAfter = Array.from({ length: kills }, (_, k) => Math.floor(((k + 1) * queue.length) / (kills + 1)))
  const latencies: Array<number> = []
  let answered = 0
  let resent = 0

  const restart = () => {
    up = (async () => {
      peak = Math.max(peak, peakRss(bot.child.pid))
      cpu += cpuSeconds(bot.child.pid)
      await bot.kill()
      bot = await BotProcess.start(options)
      return bot
    })()
  }

  // Sixteen senders share the queue; `answer` hears each answer's latency.
  let next = 0
  const sender = (queue: ReturnType<typeof schedule>, answer: (latency: number) => void) => async () => {
    while (next < queue.length) {
      const { push, stage, delivery } = queue[next]!
      next += 1
      // The API moves on before Buildkite tells anyone; never back.
      if ((reached.get(push) ?? -1) < path.indexOf(stage)) {
        reached.set(push, path.indexOf(stage))
        setStage(buildkite, stage, push)
      }
      // Each its own body, as Buildkite's differ in their timestamps: one signature, one delivery.
      const body = bodyOf(stage, delivery, push).replace(/^\{/, `{"bench_delivery":${next},`)
      for (;;) {
        const current = await up
        const started = performance.now()
        try {
          const response = await fetch(`${current.url}/webhooks/buildkite`, {
            method: "POST",
            body,
            headers: { "content-type": "application/json", ...webhookHeaders(body) }
          })
          const text = await response.text()
          if (response.status !== 200) throw new Error(`${variant.name}: HTTP ${response.status}: ${text}`)
          answer(performance.now() - started)
          break
        } catch (error) {
          // Cut off by a kill: sent again, re-signed, once the bot is back.
          if (!current.child.killed) throw error
          resent += 1
          await sleep(1000)
        }
      }
    }
  }
  const send = async (queue: ReturnType<typeof schedule>, answer: (latency: number) => void) => {
    next = 0
    await Promise.all(Array.from({ length: senders }, sender(queue, answer)))
  }

  // A bot that has run a while: what Buildkite usually meets (restarts are the kills scenario's).
  if (warmup > 0) {
    await send(schedule(Math.ceil(warmup / 10), warmup, pushes), () => {})
    while ((await bot.health()).pending > 0) await sleep(25)
    cpu -= cpuSeconds(bot.child.pid)
  }
  const started = performance.now()
  await send(queue, (latency) => {
    latencies.push(latency)
    answered += 1
    if (killAfter.includes(answered)) restart()
  })
  const sent = performance.now()
  const current = await up
  while ((await current.health()).pending > 0) await sleep(25)
  const drained = performance.now()
  peak = Math.max(peak, peakRss(current.child.pid))
  cpu += cpuSeconds(current.child.pid)
  await current.stop()
  writeFileSync(join(dir, "output.log"), current.output)

  const problems: Array<string> = []
  if (variant.name !== "floor") {
    const titles = [...discord.messages.values()].map((message) => message.versions.at(-1).embeds?.[0]?.title ?? "")
    const expected = pushes + (warmup > 0 ? Math.ceil(warmup / 10) : 0)
    if (titles.length !== expected) problems.push(`${titles.length} messages for ${expected} pushes`)
    const unfinished = titles.filter((title) => !title.startsWith("✅"))
    if (unfinished.length > 0) problems.push(`${unfinished.length} messages not finished: ${unfinished.slice(0, 3).join(", ")}`)
  }
  await Promise.all([discord.stop(), buildkite.stop()])
  if (nodeArgs.length === 0) rmSync(dir, { recursive: true, force: true })
  else console.log(`${variant.name}: kept ${dir} (the last bot's output, and what ${nodeArgs.join(" ")} wrote)`)
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    perSecond: (queue.length / (sent - started)) * 1000,
    rssMiB: peak / 1024 / 1024,
    cpuSeconds: cpu,
    drainSeconds: (drained - sent) / 1000,
    resent,
    problems
  }
}

// The bundle as this checkout's sources are now.
execFileSync(process.execPath, [join(repoRoot, "scripts/build.mjs"), "--outdir", "build"], { stdio: "inherit" })
console.log(
  `bench/bot: ${pushes} pushes, ${total} signed deliveries, ${senders} senders, Discord 429 every 5th request, debounce ${debounce} ms, ` +
    `warm-up ${warmup} deliveries; ` +
    `${rounds} rounds, medians`
)
let failed = false
for (const scenario of scenarios) {
  const results = new Map<string, Array<Result>>(variants.map((variant) => [variant.name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      const result = await run(variant, scenario.kills)
      results.get(variant.name)!.push(result)
      for (const problem of result.problems) {
        failed = true
        console.log(`${scenario.name} ${variant.name} round ${round + 1}: WRONG OUTCOME: ${problem}`)
      }
    }
  }
  console.log(`\n${scenario.name}${scenario.kills > 0 ? ` (SIGKILL and restart ${scenario.kills} times)` : ""}`)
  console.log("variant         p50 (ms)  p99 (ms)  max (ms)  deliveries/s  peak RSS (MiB)  drain (s)  CPU (s)  resent")
  const summary = new Map<string, Record<string, number>>()
  for (const [name, list] of results) {
    const row = {
      p50: median(list.map((r) => r.p50)),
      p99: median(list.map((r) => r.p99)),
      max: median(list.map((r) => r.max)),
      perSecond: median(list.map((r) => r.perSecond)),
      rss: median(list.map((r) => r.rssMiB)),
      drain: median(list.map((r) => r.drainSeconds)),
      cpu: median(list.map((r) => r.cpuSeconds)),
      resent: median(list.map((r) => r.resent))
    }
    summary.set(name, row)
    console.log(
      `${name.padEnd(14)}${row.p50.toFixed(1).padStart(10)}${row.p99.toFixed(1).padStart(10)}${row.max.toFixed(1).padStart(10)}${
        row.perSecond.toFixed(0).padStart(14)
      }${row.rss.toFixed(0).padStart(16)}${row.drain.toFixed(2).padStart(11)}${row.cpu.toFixed(2).padStart(9)}${String(row.resent).padStart(8)}`
    )
  }
  // On a shared machine one round can be far off: every round's p99, to judge the medians by.
  for (const [name, list] of results) console.log(`p99 by round, ${name}: ${list.map((r) => r.p99.toFixed(0)).join(" ")} ms`)
  const bot = summary.get("bot")
  for (const other of summary.keys()) {
    const against = summary.get(other)
    if (bot === undefined || against === undefined || other === "bot") continue
    console.log(
      `bot/${other}: p50 ${(bot.p50! / against.p50!).toFixed(2)}  p99 ${(bot.p99! / against.p99!).toFixed(2)}  deliveries/s ${
        (bot.perSecond! / against.perSecond!).toFixed(2)
      }  CPU ${(bot.cpu! / against.cpu!).toFixed(2)}${other !== "floor" ? `  peak RSS ${(bot.rss! / against.rss!).toFixed(2)}  drain ${(bot.drain! / against.drain!).toFixed(2)}` : ""}`
    )
  }
}
if (failed) process.exitCode = 1
