/**
 * bench/why: what saying why each changed output changed adds to `tool plan`, on the
 * flake of bench/benchFlake.ts (10,000 derivations, 10 changed). The goal:
 * under 10% of the plan's time.
 *
 * The plan's own evaluations (`Nix.evaluate`, as `tool plan` runs them) give each
 * changed output's derivation at base and head; `Derivations.explain` of those ten
 * pairs is timed in this process, with nothing cached between rounds, against
 * `tool plan --dry-run` run as a user runs it, which explains them too (one line each),
 * and `--why` (a tree each). Rounds alternate; medians compared.
 *
 * For the choice of reader, the same derivations are also read the other way, with
 * one `nix derivation show` (`nix show-derivation` before Nix 2.15) per level of the
 * walk (here one), and all of head's derivations both ways.
 *
 *   node bench/why.ts [SIZE]             (default 10000; BENCH_ROUNDS=3)
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime, Result } from "effect"
import { readFileSync, rmSync } from "node:fs"
import { Process } from "../src/effects/Process.ts"
import { parseDerivation } from "../src/nix/derivation.ts"
import { Derivations } from "../src/nix/Derivations.ts"
import { Nix } from "../src/nix/Nix.ts"
import { atLeast, parseNixVersion } from "../src/nix/version.ts"
import { changedCount, median, nixArgs, rounds, run, setUp, timed, toolPlan } from "./benchFlake.ts"

const size = Number(process.argv[2] ?? 10000)
const setup = setUp(size)

// Built once, as in the plan's process: only `explain` itself is timed.
const runtime = ManagedRuntime.make(
  Layer.mergeAll(Nix.layer, Derivations.layer).pipe(Layer.provide(Process.layer), Layer.provideMerge(NodeServices.layer))
)
const runEffect = <A, E>(effect: Effect.Effect<A, E, Nix | Derivations>) => runtime.runPromise(effect)

try {
  const source = (rev: string) => ({ repository: setup.repo, flakeDir: ".", rev, shallow: false })
  const [base, head] = await runEffect(Effect.gen(function*() {
    const nix = yield* Nix
    return yield* Effect.all([
      nix.evaluate(source(setup.base), "x86_64-linux", { withActions: false }),
      nix.evaluate(source(setup.head), "x86_64-linux", { withActions: true })
    ], { concurrency: 2 })
  }))
  const before = new Map(base.outputs.map((output) => [output.attrPath.join("."), output]))
  const requests = head.outputs.flatMap((output) => {
    const previous = before.get(output.attrPath.join("."))
    return previous === undefined || previous.storePath === output.storePath
      ? []
      : [{ attrPath: output.attrPath.join("."), base: previous.drvPath ?? null, head: output.drvPath ?? null }]
  })
  if (requests.length !== changedCount || requests.some((request) => request.base === null || request.head === null)) {
    throw new Error(`expected ${changedCount} changed outputs with derivations, got ${JSON.stringify(requests)}`)
  }
  const explain = () =>
    runEffect(Effect.gen(function*() {
      const explained = yield* (yield* Derivations).explain(requests)
      if (explained.some((output) => output.why.length === 0)) throw new Error(`nothing explained: ${JSON.stringify(explained)}`)
    }))

  const version = parseNixVersion(await run("nix", ["--version"], { cwd: setup.repo, stdout: true }))!
  const show = atLeast(version, 2, 15) ? ["derivation", "show"] : ["show-derivation"]
  const nixShow = (drvPaths: ReadonlyArray<string>) =>
    run("nix", [...nixArgs, ...show, ...drvPaths], { cwd: setup.repo, stdout: true }).then((text) => JSON.parse(text) as unknown)
  const parseAll = (drvPaths: ReadonlyArray<string>) =>
    Promise.resolve(drvPaths.forEach((drvPath) => Result.getOrThrow(parseDerivation(readFileSync(drvPath, "utf8")))))
  const pairs = requests.flatMap((request) => [request.base!, request.head!])
  const everyHead = head.outputs.flatMap((output) => (output.drvPath == null ? [] : [output.drvPath]))

  await toolPlan(setup)
  const plans: Array<number> = []
  const planTrees: Array<number> = []
  const whys: Array<number> = []
  const shows: Array<number> = []
  const allParsed: Array<number> = []
  const allShown: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    plans.push(await timed(() => toolPlan(setup)))
    planTrees.push(await timed(() => toolPlan(setup, process.env, { flags: ["--why"] })))
    whys.push(await timed(explain))
    shows.push(await timed(() => nixShow(pairs)))
    allParsed.push(await timed(() => parseAll(everyHead)))
    allShown.push(await timed(() => nixShow(everyHead)))
  }
  const plan = median(plans)
  const row = (label: string, seconds: number) =>
    console.log(`${label.padEnd(52)} ${(seconds * 1000).toFixed(1).padStart(9)} ms  ${(seconds / plan).toFixed(4).padStart(8)}`)
  console.log(`bench/why: ${version.text}, ${size} derivations, ${requests.length} changed, ${rounds} rounds, medians`)
  console.log(`${"".padEnd(52)} ${"time".padStart(12)}  ${"/ plan".padStart(8)}`)
  row("tool plan --dry-run (explains each change, one line)", plan)
  row("tool plan --dry-run --why (a tree each)", median(planTrees))
  row(`why of ${requests.length} changed outputs (.drv files read)`, median(whys))
  row(`  their ${pairs.length} derivations by nix ${show.join(" ")}`, median(shows))
  row(`all ${everyHead.length} head derivations, .drv files read`, median(allParsed))
  row(`all ${everyHead.length} head derivations by nix ${show.join(" ")}`, median(allShown))
} finally {
  await runtime.dispose()
  rmSync(setup.work, { recursive: true, force: true })
}
