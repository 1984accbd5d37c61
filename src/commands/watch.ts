import { type FSWatcher, readdirSync, statSync, watch as watchFiles } from "node:fs"
import { join } from "node:path"
import { Clock, Console, Duration, Effect, Option, Path, Queue, Stream } from "effect"
import type { Base } from "../plan/Plan.ts"
import { rowLine, runTally, tailLines } from "../render/board.ts"
import { executePlan, planWorkTree } from "./run.ts"
import { Board } from "./run/board.ts"
import { planningSystem } from "./plan/evaluation.ts"
import type { PlanFlags } from "./plan/flags.ts"
import type { RunFlags } from "./run/flags.ts"
import { servicesWithEvaluations } from "./services.ts"

/**
 * `tool watch`: `tool run` again whenever a file of the flake changes. Changes are
 * debounced; a new one interrupts the round in flight (its Nix and check processes
 * are stopped with it). Each round's base is the previous round's work tree, as
 * evaluated then, so a re-plan costs one evaluation. One summary line per round.
 */

// git's own files change on every status, and dependencies are not the flake's sources.
const ignored = /(^|\/)(\.git|node_modules|result)(\/|$)/

/**
 * Every directory of the tree watched on its own: Node's recursive watcher on Linux
 * loses a file replaced by rename, which is how editors and `sed -i` save.
 */
const isDirectory = (file: string): boolean => {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false
  }
}

const watchTree = (root: string, onChange: (file: string) => void): () => void => {
  const watchers = new Map<string, FSWatcher>()
  const add = (dir: string) => {
    if (watchers.has(dir)) return
    try {
      watchers.set(dir, watchFiles(dir, (_event, name) => {
        if (name === null) return
        const file = join(dir, name)
        if (ignored.test(file.slice(root.length))) return
        onChange(file)
        if (isDirectory(file)) add(file)
      }))
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory() && !ignored.test(`/${entry.name}`)) add(join(dir, entry.name))
      }
    } catch {
      // Not a directory, or gone already: nothing to watch.
    }
  }
  add(root)
  return () => watchers.forEach((watcher) => watcher.close())
}

/** The flags of `tool watch` (src/cli/watch.ts): some of `tool run`'s, and the debounce. */
export type WatchFlags = Pick<RunFlags, "flake" | "system" | "branch" | "tag" | "jobs"> & { readonly debounce: number }

const watchIn = Effect.fn("watch")(function*(input: WatchFlags) {
  const { system } = yield* planningSystem(input.system)
  const asPlan: PlanFlags = {
    ...input,
    base: Option.none(),
    head: Option.none(),
    tool: Option.none(),
    dryRun: true,
    format: "yaml",
    noCache: false,
    why: false,
    verbose: false
  }
  const flakePath = (yield* Path.Path).resolve(input.flake)
  let previous: Base | undefined
  let round = 0

  // `changedAt`: when the change this round answers was seen, so the line says how long it waited.
  const runRound = (changedAt: number) => Effect.gen(function*() {
    const number = ++round
    const startedAt = yield* Clock.currentTimeMillis
    const planned = yield* planWorkTree({ flake: input.flake, base: Option.none(), head: Option.none() }, asPlan, system, previous)
    // The next round compares with this work tree, whatever happens to this round.
    previous = { _tag: "Evaluated", sha: planned.head, evaluation: planned.headEvaluation, choice: "the previous round's work tree" }
    const planMs = (yield* Clock.currentTimeMillis) - changedAt
    const board = new Board({ live: false, colour: false, columns: () => undefined }, () => {})
    yield* executePlan(planned.plan, planned.flakePath, board, { deploy: false, yes: false, jobs: input.jobs, printBuildLogs: false, interactive: false })
    const failed = board.all.filter((row) => row.state === "failed")
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(
      `round ${number}: planned ${planMs} ms after the change, ${planned.plan.changed.length} changed; ${runTally(board.all, now - startedAt)}`
    )
    for (const row of failed) yield* Console.log([rowLine(row, now, false), ...tailLines(row)].join("\n"))
  }).pipe(
    Effect.catch((error) => Console.log(`round ${round}: ${error.message.split("\n")[0]}`))
  )

  const changes = Stream.callback<number>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => watchTree(flakePath, () => Queue.offerUnsafe(queue, Date.now()))),
      (close) => Effect.sync(close)
    )
  )
  yield* Console.error(`Watching ${flakePath}; each round compares with the one before (Ctrl-C stops).`)
  yield* Stream.fromEffect(Clock.currentTimeMillis).pipe(
    Stream.concat(changes.pipe(Stream.debounce(Duration.millis(input.debounce)))),
    Stream.switchMap((changedAt) => Stream.fromEffect(runRound(changedAt))),
    Stream.runDrain
  )
})

/** `tool watch`: its flags and help are src/cli/watch.ts's. */
export const watch = (input: WatchFlags) => watchIn(input).pipe(Effect.provide(servicesWithEvaluations))
