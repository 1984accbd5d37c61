import { Clock, Console, Duration, Effect, Option, Path, Schema, Terminal } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { parseInstallable, showAttrPath, type AttrPath } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import { Git } from "../effects/Git.ts"
import { Reporter } from "../effects/Reporter.ts"
import { Nix } from "../nix/Nix.ts"
import { type Base, type CiPlan, deploySystemsOf, makePlan } from "../plan/Plan.ts"
import { runTally } from "../render/board.ts"
import { runOutcome } from "../render/summary.ts"
import { buildTargets, failedBuild } from "./build.ts"
import { runDeploy } from "./deploy.ts"
import { type BaseCommit } from "./plan/base.ts"
import { checkoutOf, readRefs } from "./plan/checkout.ts"
import { evaluateBase, planningSystem } from "./plan/evaluation.ts"
import type { PlanFlags } from "./plan/flags.ts"
import { Board, displayOf } from "./run/board.ts"
import type { RunFlags } from "./run/flags.ts"
import { TargetFailed, runTarget } from "./runTarget.ts"
import { servicesWithEvaluations } from "./services.ts"

/**
 * `tool run`: what the pipeline would run, here. The work tree is planned (its
 * uncommitted changes included, as `nix build .#x` evaluates it) against a base,
 * then its checks run, concurrently, beside the one coalesced build, and with
 * `--deploy` the deploy steps, in order, asking at each block.
 */

export class RunFailed extends Schema.TaggedError<RunFailed>()("RunFailed", { tally: Schema.String }) {
  override get message() {
    return `not everything passed: ${this.tally}`
  }
}

/** A console whose lines go to `line`: a check's output, kept off the board unless -L. */
const consoleTo = (line: (text: string) => void): Console.Console => ({
  ...globalThis.console,
  log: (...args) => line(args.join(" ")),
  info: (...args) => line(args.join(" ")),
  warn: (...args) => line(args.join(" ")),
  error: (...args) => line(args.join(" "))
})

/** The base: --base (a typo is exit 2), else the merge-base with the upstream branch, else HEAD. */
const chooseRunBase = Effect.fnUntraced(function*(repository: string, head: string, requested: Option.Option<string>) {
  const git = yield* Git
  if (Option.isSome(requested)) {
    const [sha] = yield* git.resolveCommits(repository, [requested.value])
    if (sha === undefined || Option.isNone(sha)) {
      return yield* new PlanInputError({ place: "--base", detail: `${requested.value} is not a commit in ${repository}` })
    }
    return { commit: { _tag: "Found", sha: sha.value, choice: `--base ${requested.value}` } satisfies BaseCommit, why: `--base ${requested.value}` }
  }
  const upstream = yield* git.upstream(repository)
  const mergeBase = Option.isSome(upstream) ? yield* git.mergeBase(repository, head, upstream.value) : Option.none<string>()
  return Option.isSome(mergeBase)
    ? { commit: { _tag: "Found", sha: mergeBase.value, choice: "the merge-base with the upstream branch" } satisfies BaseCommit, why: "the merge-base with the upstream branch" }
    : (() => {
      const why = Option.isSome(upstream) ? "HEAD (no merge-base with the upstream branch)" : "HEAD (the branch has no upstream)"
      return { commit: { _tag: "Found", sha: head, choice: why } satisfies BaseCommit, why }
    })()
})

/** One action's deploy steps, in order: a failure stops it at the next wait; a block asks, or stops without --yes on a pipe. */
const runDeploySteps = Effect.fnUntraced(function*(
  data: StepData,
  board: Board,
  options: { readonly yes: boolean; readonly interactive: boolean; readonly installableOf: (target: string) => string }
) {
  const key = (index: number) => `deploy:${data.action}:${index}`
  const skipRest = (from: number, why: string) =>
    Effect.forEach(data.steps.slice(from), (_, offset) => board.update(key(from + offset), { state: "skipped", detail: why }), { discard: true })
  let failed = false
  for (const [index, step] of data.steps.entries()) {
    if (step.type === "wait") {
      if (failed) return yield* skipRest(index, "a step before the wait failed")
      yield* board.update(key(index), { state: "passed" })
      continue
    }
    if (step.type === "block") {
      if (failed) return yield* skipRest(index, "a step before the block failed")
      if (options.yes) {
        yield* board.update(key(index), { state: "passed", detail: "--yes" })
        continue
      }
      if (!options.interactive) return yield* skipRest(index, "blocked: run with --yes, or on a terminal, to continue")
      const terminal = yield* Terminal.Terminal
      yield* board.hide
      yield* terminal.display(`${step.prompt ?? step.label ?? "Continue"} (${data.action}): continue? [y/N] `).pipe(Effect.ignore)
      const answer = yield* terminal.readLine.pipe(Effect.orElseSucceed(() => ""))
      if (!/^y(es)?$/i.test(answer.trim())) return yield* skipRest(index, "not approved")
      yield* board.update(key(index), { state: "passed", detail: "approved" })
      continue
    }
    yield* board.update(key(index), { state: "running" })
    const outcome = yield* runDeploy({
      target: options.installableOf(step.target),
      name: Option.some(step.name),
      retries: step.retries,
      retryDelay: Duration.seconds(2)
    }).pipe(Effect.result)
    if (outcome._tag === "Success") {
      yield* board.update(key(index), { state: "passed" })
    } else {
      failed = true
      const error = outcome.failure
      yield* board.update(key(index), {
        state: "failed",
        detail: error instanceof TargetFailed ? runOutcome(error.last) : error.message,
        tail: error instanceof TargetFailed ? error.last.outputTail : []
      })
    }
  }
})

/** The work tree evaluated, its base chosen and evaluated, and the plan made. */
export const planWorkTree = Effect.fnUntraced(function*(
  input: Pick<RunFlags, "flake" | "base" | "head">,
  asPlan: PlanFlags,
  system: string,
  // tool watch: the previous round's head, already evaluated.
  knownBase?: Base
) {
  const nix = yield* Nix
  const path = yield* Path.Path
  const [, { repository, head, flakeDir, source }] = yield* Effect.all([nix.version, checkoutOf(asPlan, {}, [])], {
    concurrency: "unbounded"
  })
  const flakePath = path.resolve(input.flake)
  const { commit, why } = yield* chooseRunBase(repository, head, input.base)
  const headSource = Option.isSome(input.head) ? source(head) : { ...source(head), rev: undefined }
  const [headEvaluation, base, { refs, dirty }] = yield* Effect.all([
    nix.evaluate(headSource, system, { withActions: true }),
    knownBase === undefined ? evaluateBase(commit, source, system) : Effect.succeed(knownBase),
    readRefs(asPlan, {}, repository, head)
  ], { concurrency: "unbounded" })
  // The systems actions deploy from, which their deploy steps come from, as tool plan reads them.
  const deployEvaluations = new Map(
    yield* Effect.forEach(deploySystemsOf(headEvaluation, system), (other) =>
      Effect.map(nix.evaluate(headSource, other, { withActions: true }), (evaluated) => [other, evaluated] as const), { concurrency: 2 })
  )
  const plan = yield* Effect.fromResult(
    makePlan({ system, flakeDir, head, headEvaluation, base, refs, pullRequest: undefined, forced: [], deployEvaluations })
  )
  return { plan, flakePath, head, commit, why, refs, dirty, base, headEvaluation }
})

/**
 * What the pipeline would run, run here on `board`: the checks, `jobs` at a time,
 * beside the one coalesced build; then, with `deploy`, each action's deploy steps.
 */
export const executePlan = Effect.fnUntraced(function*(
  plan: CiPlan,
  flakePath: string,
  board: Board,
  input: {
    readonly deploy: boolean
    readonly yes: boolean
    readonly jobs: number
    readonly printBuildLogs: boolean
    readonly interactive: boolean
  }
) {
  const installable = (attrPath: AttrPath) => `${flakePath}#${showAttrPath(attrPath)}`
  // Deploy targets are written relative to the repository (`./dir#…`); run them from the flake here.
  const installableOf = (target: string) => {
    const parsed = parseInstallable(target)
    return parsed === undefined ? target : installable(parsed.attrPath)
  }

  return yield* Effect.gen(function*() {
    yield* board.start()
    for (const check of plan.checks) yield* board.add({ key: `check:${check.name}`, label: `check ${check.displayName}`, state: "waiting" })
    if (plan.builds.length > 0) {
      yield* board.add({ key: "build", label: `build (${plan.builds.length} ${plan.builds.length === 1 ? "target" : "targets"})`, state: "waiting" })
    }
    const deploys = input.deploy ? plan.deploys : []
    for (const data of deploys) {
      for (const [index, step] of data.steps.entries()) {
        const label = step.type === "run" ? `deploy ${data.action}: ${step.label}` : `${step.type} (${data.action})`
        yield* board.add({ key: `deploy:${data.action}:${index}`, label, state: "waiting" })
      }
    }
    if (!input.deploy && plan.deploys.length > 0) {
      yield* board.log(`${plan.deploys.length} ${plan.deploys.length === 1 ? "action deploys" : "actions deploy"}; not run without --deploy`)
    }

    const streamed = (prefix: string) => (line: string) => {
      // Headings and summaries the shared steps print are the board's; their blank lines are nobody's.
      if (input.printBuildLogs && line.trim() !== "") Effect.runSync(board.log(`${prefix}> ${line}`))
    }
    const runCheck = (check: (typeof plan.checks)[number]) => {
      const key = `check:${check.name}`
      return board.update(key, { state: "running" }).pipe(
        Effect.andThen(runTarget(installable(check.target), check.displayName)),
        Effect.provideService(Console.Console, consoleTo(streamed(check.name))),
        Effect.flatMap((attempt) =>
          board.update(key, {
            state: attempt.passed ? "passed" : "failed",
            durationMs: attempt.run.durationMs,
            detail: attempt.passed ? undefined : runOutcome(attempt.run),
            tail: attempt.run.outputTail
          })
        )
      )
    }
    const runTheBuild = plan.builds.length === 0 ? Effect.void : board.update("build", { state: "running" }).pipe(
      Effect.andThen(buildTargets(plan.builds.map((build) => installable(build.attrPath)), "plain", (output) =>
        Effect.andThen(
          input.printBuildLogs ? Effect.forEach(output.lines, (line) => board.log(line), { discard: true }) : Effect.void,
          output.status === undefined ? Effect.void : board.update("build", { detail: output.status })
        ))),
      Effect.flatMap(({ results }) => {
        const failed = failedBuild(results)
        return board.update("build", {
          state: failed === undefined ? "passed" : "failed",
          detail: failed?.message,
          tail: results.flatMap((result) => (result.status === "failed" ? result.logTail ?? [] : []))
        })
      }),
      Effect.catch((error) => board.update("build", { state: "failed", detail: error.message }))
    )
    yield* Effect.all([
      Effect.forEach(plan.checks, runCheck, { concurrency: Math.max(1, input.jobs), discard: true }),
      runTheBuild
    ], { concurrency: "unbounded", discard: true })

    if (board.all.some((row) => row.state === "failed")) {
      for (const data of deploys) {
        yield* Effect.forEach(data.steps, (_, index) =>
          board.update(`deploy:${data.action}:${index}`, { state: "skipped", detail: "a check or the build failed" }), { discard: true })
      }
    } else {
      for (const data of deploys) yield* runDeploySteps(data, board, { yes: input.yes, interactive: input.interactive, installableOf }).pipe(
        Effect.provideService(Console.Console, consoleTo(streamed(data.action)))
      )
    }
  }).pipe(Effect.scoped, Effect.provide(Reporter.layerTerminal))
})

const runLocally = Effect.fn("run")(function*(input: RunFlags) {
  const startedAt = yield* Clock.currentTimeMillis
  const display = displayOf(process.stdout, process.env)
  const board = new Board(display, (text) => process.stdout.write(text))
  const note = (line: string) => Console.error(line)

  const asPlan: PlanFlags = {
    noCache: false,
    why: false,
    verbose: false,
    flake: input.flake,
    base: input.base,
    head: input.head,
    system: input.system,
    branch: input.branch,
    tag: input.tag,
    tool: Option.none(),
    dryRun: true,
    format: "yaml"
  }
  const { system, confirmed } = yield* planningSystem(input.system)
  const first = yield* planWorkTree(input, asPlan, system)
  const actual = yield* confirmed
  const { plan, flakePath, head, commit, why, refs, dirty, base } = actual === system ? first : yield* planWorkTree(input, asPlan, actual)
  const baseSha = commit._tag === "Found" ? commit.sha.slice(0, 12) : "none"
  yield* note(
    (Option.isSome(input.head)
      ? `Planned commit ${head.slice(0, 12)} of ${flakePath} `
      : `Planned the work tree of ${flakePath}${dirty ? ", uncommitted changes included," : ""} as \`nix build .#x\` evaluates it, `) +
      `against ${baseSha} (${why})${refs.branch === undefined ? "" : ` on branch ${refs.branch}`}${refs.tag === undefined ? "" : `, tag ${refs.tag}`}.`
  )
  if (base._tag === "Unavailable") yield* note(`warning: ${base.reason}: everything counts as changed`)
  for (const warning of plan.warnings) yield* note(`warning: ${warning}`)
  const triggered = plan.actions.filter((action) => action.triggered).map((action) => action.name)
  yield* note(triggered.length === 0 ? "No action triggered." : `Triggered: ${triggered.join(", ")}.`)

  yield* executePlan(plan, flakePath, board, { ...input, interactive: display.live && process.stdin.isTTY === true })

  const tally = runTally(board.all, (yield* Clock.currentTimeMillis) - startedAt)
  yield* Console.log(tally)
  if (board.all.some((row) => row.state === "failed")) return yield* new RunFailed({ tally })
})

/** `tool run`: its flags and help are src/cli/run.ts's. */
export const run = (input: RunFlags) => runLocally(input).pipe(Effect.provide(servicesWithEvaluations))
