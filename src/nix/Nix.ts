import { Clock, Config, Context, Effect, Layer, Option, Path, Runtime, Schema } from "effect"
import { pathToFileURL } from "node:url"
import { ExitCode } from "../domain/errors.ts"
import { type FlakeInstallable, parseInstallable, showAttrPath } from "../domain/installable.ts"
import { logTails } from "../domain/logTails.ts"
import { Process, ProcessError, ProcessFailed, showCommand } from "../effects/Process.ts"
import { cacheSettings, substituterArgs } from "./BinaryCache.ts"
import { BuildLog, type LogChange, parseLogLine } from "./buildLog.ts"
import { type FlakeEvaluation, type Output, WorkerEvaluationFromJson } from "./FlakeEvaluation.ts"
import { classifyFailure, type FailureKind } from "./failures.ts"
import { aboutArgs, commonArgs, evaluationArgs, evaluationOutput, evaluatorOf, flakeEvalArgs, nixString } from "./evaluationCommand.ts"
import { findNixDir, readNixFile, readNixSources } from "./nixFiles.ts"
import { type FlakeSource, flakeRef } from "./flakeRef.ts"
import { type FlakeOrigin, formatNixError, type NixErrorSummary, summariseNixError } from "./nixError.ts"
import type { BuildRun } from "./outcomes.ts"
import { type Described, DescribedFromJson, type Target, toTarget } from "./target.ts"
import { derivationOutputs, type NixVersion, parseNixVersion, unsupportedReason } from "./version.ts"
import { mergeWorkers } from "./workerEvaluations.ts"

/**
 * Nix as `tool` uses it: evaluating a flake at a locked revision into plain data,
 * resolving installables to derivations, building them with a per-derivation log,
 * and asking the store what is valid.
 */

export class NixEvalError extends Schema.TaggedError<NixEvalError>()("NixEvalError", {
  flakeRef: Schema.String,
  summary: Schema.String,
  stderr: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    return this.summary
  }
}

export class NixUnavailable extends Schema.TaggedError<NixUnavailable>()("NixUnavailable", {
  /** How a Nix command failed to run or exited, when one did. */
  cause: Schema.optionalKey(ProcessError),
  /** Otherwise, what about this Nix the tool cannot use. */
  detail: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    return `nix is not usable here: ${this.cause?.message ?? this.detail ?? "no reason given"}`
  }
  /**
   * Whether trying again may help: Nix's own words decide when a command of it
   * exited saying why (`classifyFailure`); the tool's limits (a timeout, an output
   * cap), no nix to run, and a Nix it cannot use are permanent.
   */
  get kind(): FailureKind {
    return this.cause?._tag === "ProcessFailed" ? classifyFailure(this.cause.stderr) : "permanent"
  }
}

export class NixOutputInvalid extends Schema.TaggedError<NixOutputInvalid>()("NixOutputInvalid", {
  flakeRef: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `nix/ci-actions.nix returned data this tool does not understand for ${this.flakeRef}:\n${this.detail}`
  }
}

// An output's own error: Nix's message and where, not the ciActions place that forced it.
const outputSummary = (summary: NixErrorSummary): NixErrorSummary => {
  const position = summary.position ?? summary.nearestPosition
  return { message: summary.message, ...(position === undefined ? {} : { position }) }
}

// What `aboutArgs` prints: `[ system version ]`.
const AboutFromJson = Schema.fromJsonString(Schema.Tuple([Schema.String, Schema.String]))

export class Nix extends Context.Service<Nix, {
  /** The system Nix builds for on this machine, for example `x86_64-linux`. */
  readonly currentSystem: Effect.Effect<string, NixUnavailable>
  /**
   * The flake's standard outputs for `system` and, with `withActions`, its `ciActions`
   * with every target resolved to an attribute path.
   */
  evaluate(
    source: FlakeSource,
    system: string,
    /** `workers`: how many `nix eval`s share the evaluation (src/nix/workerEvaluations.ts); 1 by default. */
    options: { readonly withActions: boolean; readonly workers?: number }
  ): Effect.Effect<FlakeEvaluation, NixEvalError | NixUnavailable | NixOutputInvalid>
  /**
   * What of the tool decides `evaluate`'s result besides its arguments: a hash of the
   * nix/ files it evaluates (`lib.nix`, `ci-actions.nix`).
   */
  readonly evaluator: string
  /** Nix's version; fails when it is older than the tool supports. */
  readonly version: Effect.Effect<NixVersion, NixUnavailable>
  /** Each installable (`flake#attribute`) as a derivation or an app, in order; one evaluation per flake output. */
  resolve(installables: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Target>, NixUnavailable>
  /**
   * One `nix build --keep-going` of every output of these derivations, its
   * internal-json log folded into a `BuildLog` and passed on change by change.
   */
  build(
    drvPaths: ReadonlyArray<string>,
    onChange: (change: LogChange, log: BuildLog) => Effect.Effect<void>
  ): Effect.Effect<BuildRun, NixUnavailable>
  /** The paths, of those given, that are not valid in the store. */
  invalidPaths(paths: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>, NixUnavailable>
  /**
   * The derivations a build of these would build (`nix build --dry-run`): those whose
   * outputs are neither in the store nor in a substituter, the binary cache's included.
   */
  toBuild(drvPaths: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>, NixUnavailable>
  /** The closure of a store derivation: every derivation and source it depends on. */
  requisites(drvPath: string): Effect.Effect<ReadonlyArray<string>, NixUnavailable>
  /** Every output path of these store derivations. */
  outputsOf(drvPaths: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, NixUnavailable>
}>()("ci/nix/Nix") {
  static readonly layer = Layer.effect(
    Nix,
    Effect.gen(function*() {
      const runner = yield* Process
      const path = yield* Path.Path

      const nixDir = yield* locateNixFiles(path)
      const [sources, targetsSource] = yield* Effect.try(() => [readNixSources(nixDir), readNixFile(nixDir, "targets.nix")] as const).pipe(Effect.orDie)

      const unavailable = (cause: ProcessError) => new NixUnavailable({ cause })
      // Every build reads from the binary cache between steps, when there is one.
      const substitute = substituterArgs(yield* cacheSettings.pipe(Effect.orDie))

      // Where the flake's source is in the store, so an error's position can be shown
      // relative to the repository. Asked only after a failure; unknown is fine.
      // (`nix flake metadata` would also lock the inputs, which may mean the network.)
      const flakeSourcePath = (source: FlakeSource) =>
        source.rev === undefined ? Effect.succeed(undefined) : runner.run("nix", [
          ...commonArgs,
          "eval",
          "--raw",
          "--expr",
          `(builtins.fetchGit { url = ${nixString(pathToFileURL(source.repository).href)}; rev = ${nixString(source.rev)}; shallow = ${source.shallow}; }).outPath`
        ], { timeout: "1 minute" }).pipe(
          Effect.map((result): string | undefined => result.stdout.trim()),
          Effect.orElseSucceed(() => undefined)
        )

      const runEval = (args: ReadonlyArray<string>) =>
        runner.run("nix", args, { allowFailure: true, ...evaluationOutput }).pipe(Effect.mapError(unavailable))

      // Why an output that threw (caught by ci-actions.nix's tryEval) fails: it alone,
      // evaluated as ci-actions.nix evaluates it, in Nix's words.
      const outputError = (source: FlakeSource, output: Output, origin: Effect.Effect<FlakeOrigin>): Effect.Effect<NixErrorSummary, NixUnavailable> =>
        runEval(flakeEvalArgs(source, (flake) =>
          `builtins.seq (builtins.foldl' (value: name: value.\${name}) ${flake} (builtins.fromJSON ${
            nixString(JSON.stringify(output.attrPath))
          })).${output.kind === "apps" ? "program" : "outPath"} null`)).pipe(
            Effect.flatMap((result) =>
              result.exitCode === 0
                ? Effect.succeed({ message: "it failed to evaluate with the rest of the flake, not alone" })
                : Effect.map(origin, (origin) => summariseNixError(result.stderr, origin))
            )
          )

      const evaluate = Effect.fn("Nix.evaluate")(function*(
        source: FlakeSource,
        system: string,
        options: { readonly withActions: boolean; readonly workers?: number }
      ) {
        const ref = flakeRef(source)
        const workers = options.workers ?? 1
        const origin = yield* Effect.cached(Effect.map(flakeSourcePath(source), (storePath): FlakeOrigin => ({
          storePath,
          repository: source.repository,
          rev: source.rev
        })))
        // Outputs that failed with an error tryEval cannot catch, by attribute path, and why:
        // each is skipped in the next attempt, as nix-eval-jobs evaluates each job alone.
        const failed = new Map<string, { readonly attrPath: ReadonlyArray<string>; readonly message: string; readonly error: string }>()
        const failure = (attrPath: ReadonlyArray<string>, summary: NixErrorSummary) =>
          failed.set(JSON.stringify(attrPath), { attrPath, message: summary.message, error: formatNixError(outputSummary(summary)) })
        for (;;) {
          const skip = [...failed.values()].map((output) => output.attrPath)
          const argsOf = (worker: number) => evaluationArgs(sources, { source, system, withActions: options.withActions, skip, worker, workers })
          const results = yield* Effect.forEach(Array.from({ length: workers }, (_, worker) => argsOf(worker)), runEval, { concurrency: "unbounded" })
          if (results.every((result) => result.exitCode === 0)) {
            const parts = yield* Effect.forEach(results, (result) =>
              Schema.decodeUnknownEffect(WorkerEvaluationFromJson)(result.stdout).pipe(
                Effect.mapError((error) => new NixOutputInvalid({ flakeRef: ref, detail: error.message }))
              ))
            const merged = mergeWorkers(parts, system)
            if (merged._tag === "Unreachable") return yield* new NixEvalError({ flakeRef: ref, summary: merged.message, stderr: "" })
            const evaluation = merged.evaluation
            // The rest threw, and tryEval says only that: ask each alone why.
            const thrown = evaluation.outputs.filter((output) => output.storePath === null && !failed.has(JSON.stringify(output.attrPath)))
            yield* Effect.forEach(thrown, (output) =>
              Effect.map(outputError(source, output, origin), (summary) => failure(output.attrPath, summary)), {
              concurrency: 2,
              discard: true
            })
            return failed.size === 0 ? evaluation : {
              ...evaluation,
              outputs: evaluation.outputs.map((output) => {
                const error = failed.get(JSON.stringify(output.attrPath))?.error
                return error === undefined ? output : { ...output, error }
              })
            }
          }
          const failures = results.flatMap((result, worker) => result.exitCode === 0 ? [] : [{ result, args: argsOf(worker) }])
          // The machine's failure, not the flake's (a full disk, where the output goes too; the
          // store out of reach): said in Nix's words, as Nix being unusable, not as bad input.
          const transient = failures.find(({ result }) => classifyFailure(result.stderr) === "transient")
          if (transient !== undefined) {
            return yield* new NixUnavailable({
              cause: new ProcessFailed({ command: showCommand("nix", transient.args), exitCode: transient.result.exitCode, stderr: transient.result.stderr })
            })
          }
          // An output's own failure first, from whichever worker met it: an action naming that
          // output fails in the worker that resolves the actions, and is said as the output's.
          const flakeOrigin = yield* origin
          const summaries = failures.map(({ result }) => ({ result, summary: summariseNixError(result.stderr, flakeOrigin) }))
          const newOutput = (summary: NixErrorSummary) => summary.output !== undefined && !failed.has(JSON.stringify(summary.output)) ? summary.output : undefined
          const { result, summary } = summaries.find((candidate) => newOutput(candidate.summary) !== undefined) ?? summaries[0]!
          const output = newOutput(summary)
          if (output === undefined) {
            // An action refers to an output skipped above: the error is the action's, and
            // says which output and where it failed (later Nix versions show no position here).
            const skipped = [...failed.values()].find((output) => output.message === summary.message)
            const reported = skipped === undefined ? summary : {
              message: `${showAttrPath(skipped.attrPath)} does not evaluate: ${skipped.error}`,
              ...(summary.place === undefined ? {} : { place: summary.place })
            }
            return yield* new NixEvalError({ flakeRef: ref, summary: formatNixError(reported), stderr: result.stderr })
          }
          failure(output, summary)
        }
      })

      const supported = (parsed: NixVersion | undefined, said: string) => {
        if (parsed === undefined) return Effect.fail(new NixUnavailable({ detail: `cannot read a version in ${said}` }))
        const unsupported = unsupportedReason(parsed)
        return unsupported === undefined ? Effect.succeed(parsed) : Effect.fail(new NixUnavailable({ detail: unsupported }))
      }
      // Nix's version and the system it builds for, from one process: a plan needs both, and
      // each process costs as much as a small evaluation. A Nix too old to run it (before
      // flakes) fails it; `nix --version` then says which Nix it is.
      const about = yield* runner.run("nix", aboutArgs, { timeout: "1 minute" }).pipe(
        Effect.catch((cause) =>
          runner.run("nix", ["--version"], { timeout: "1 minute" }).pipe(
            Effect.mapError(unavailable),
            Effect.flatMap((result) => supported(parseNixVersion(result.stdout), `\`nix --version\`: ${result.stdout.trim()}`)),
            Effect.andThen(Effect.fail(unavailable(cause)))
          )
        ),
        Effect.flatMap((result) =>
          Schema.decodeUnknownEffect(AboutFromJson)(result.stdout).pipe(
            Effect.mapError((error) => new NixUnavailable({ detail: `cannot read Nix's system and version: ${error.message}` }))
          )
        ),
        Effect.flatMap(([system, version]) =>
          Effect.map(supported(parseNixVersion(`Nix ${version}`), `builtins.nixVersion: ${version}`), (parsed) => ({ system, version: parsed }))
        ),
        Effect.cached
      )
      const version = Effect.map(about, (found) => found.version)
      const currentSystem = Effect.map(about, (found) => found.system)

      type Description =
        | { readonly _tag: "Described"; readonly described: ReadonlyArray<Described> }
        | { readonly _tag: "Failed"; readonly message: string }

      // One evaluation for every installable below one output of one flake; `strict` lets
      // an error escape targets.nix's tryEval, so Nix says why in its own words.
      const describe = (
        flakeRef: string,
        output: string,
        group: ReadonlyArray<FlakeInstallable>,
        strict: boolean
      ): Effect.Effect<Description, NixUnavailable> =>
        runner.run("nix", [
          ...commonArgs,
          "eval",
          "--json",
          `${flakeRef}#${showAttrPath([output])}`,
          "--apply",
          `(${targetsSource}) { paths = builtins.fromJSON ${nixString(JSON.stringify(group.map((installable) => installable.attrPath.slice(1))))}; strict = ${strict}; }`
        ], { allowFailure: true }).pipe(
          Effect.mapError(unavailable),
          Effect.flatMap((result) =>
            result.exitCode === 0
              ? Schema.decodeUnknownEffect(DescribedFromJson)(result.stdout).pipe(
                Effect.map((described): Description => ({ _tag: "Described", described })),
                Effect.mapError((error) => new NixUnavailable({ detail: `nix/targets.nix returned unexpected data: ${error.message}` }))
              )
              : Effect.succeed<Description>({ _tag: "Failed", message: formatNixError(summariseNixError(result.stderr)) })
          )
        )

      const resolve = Effect.fn("Nix.resolve")(function*(installables: ReadonlyArray<string>) {
        const parsed = installables.map((text) => ({ text, installable: parseInstallable(text) }))
        const groups = new Map<string, Array<FlakeInstallable>>()
        for (const { installable } of parsed) {
          if (installable === undefined) continue
          const key = JSON.stringify([installable.flakeRef, installable.attrPath[0]])
          groups.set(key, [...(groups.get(key) ?? []), installable])
        }
        const targets = new Map<string, Target>()
        // One installable alone, its error (if any) in Nix's words.
        const alone = (installable: FlakeInstallable) =>
          Effect.map(describe(installable.flakeRef, installable.attrPath[0]!, [installable], true), (described): Target =>
            described._tag === "Described"
              ? toTarget(installable, described.described[0]!)
              : { _tag: "Unresolved", installable: installable.text, reason: described.message })
        yield* Effect.forEach([...groups.values()], Effect.fnUntraced(function*(group) {
          const { flakeRef, attrPath } = group[0]!
          const whole = yield* describe(flakeRef, attrPath[0]!, group, false)
          // An error Nix cannot catch sank the whole group, or one threw: find out whose, and why.
          yield* Effect.forEach(group, (installable, i) => {
            const described = whole._tag === "Described" ? whole.described[i]! : undefined
            return described === undefined || described.kind === "throws"
              ? Effect.map(alone(installable), (target) => void targets.set(installable.text, target))
              : Effect.sync(() => void targets.set(installable.text, toTarget(installable, described)))
          }, { concurrency: 2, discard: true })
        }), { concurrency: 4 })
        return parsed.map(({ text, installable }): Target =>
          installable === undefined
            ? { _tag: "Unresolved", installable: text, reason: "expected a flake installable such as .#packages.x86_64-linux.hello" }
            : targets.get(text)!
        )
      })

      const build = Effect.fn("Nix.build")(function*(
        drvPaths: ReadonlyArray<string>,
        onChange: (change: LogChange, log: BuildLog) => Effect.Effect<void>
      ) {
        const nixVersion = yield* version
        const log = new BuildLog()
        const plain: Array<string> = []
        const result = yield* runner.run("nix", [
          ...commonArgs,
          "build",
          "--keep-going",
          "--no-link",
          "--log-format",
          "internal-json",
          ...substitute,
          ...drvPaths.map((drvPath) => derivationOutputs(nixVersion, drvPath))
        ], {
          allowFailure: true,
          timeout: "24 hours",
          onLine: (line) =>
            Option.match(parseLogLine(line), {
              onNone: () => Effect.sync(() => void plain.push(line)),
              onSome: (event) =>
                Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.forEach(log.apply(event, now), (change) => onChange(change, log), { discard: true }))
            })
        }).pipe(Effect.mapError(unavailable))
        log.close(yield* Clock.currentTimeMillis)
        return { exitCode: result.exitCode, signal: result.signal, log, stderrTail: plain.slice(-logTails.message).join("\n") }
      })

      const invalidPaths = Effect.fn("Nix.invalidPaths")(function*(paths: ReadonlyArray<string>) {
        const invalid = new Set<string>()
        // In batches, to stay far below the kernel's limit on arguments.
        for (let start = 0; start < paths.length; start += 1000) {
          const result = yield* runner.run("nix-store", ["--check-validity", "--print-invalid", ...paths.slice(start, start + 1000)])
            .pipe(Effect.mapError(unavailable))
          for (const line of result.stdout.split("\n")) if (line.trim() !== "") invalid.add(line.trim())
        }
        return invalid
      })

      const toBuild = Effect.fn("Nix.toBuild")(function*(drvPaths: ReadonlyArray<string>) {
        const nixVersion = yield* version
        const found = new Set<string>()
        // Batches share their dependencies, which each would look up again: few and large
        // (5,000 paths are about 400 KB of arguments, a fifth of Linux's limit).
        for (let start = 0; start < drvPaths.length; start += 5000) {
          const result = yield* runner.run("nix", [
            ...commonArgs,
            "build",
            "--dry-run",
            ...substitute,
            ...drvPaths.slice(start, start + 5000).map((drvPath) => derivationOutputs(nixVersion, drvPath))
          ], { timeout: "10 minutes" }).pipe(Effect.mapError(unavailable))
          // Nix lists what it would build, then what it would fetch (outputs, never `.drv`
          // files), each path on a line of its own: the paths are the contract, not the words.
          for (const line of result.stderr.split("\n")) {
            const path = line.trim()
            if (path.startsWith("/") && path.endsWith(".drv") && !path.includes(" ")) found.add(path)
          }
        }
        return found
      })

      const requisites = Effect.fn("Nix.requisites")(function*(drvPath: string) {
        const result = yield* runner.run("nix-store", ["--query", "--requisites", drvPath]).pipe(Effect.mapError(unavailable))
        return result.stdout.split("\n").map((line) => line.trim()).filter((line) => line !== "")
      })

      const outputsOf = Effect.fn("Nix.outputsOf")(function*(drvPaths: ReadonlyArray<string>) {
        const outputs: Array<string> = []
        for (let start = 0; start < drvPaths.length; start += 1000) {
          const result = yield* runner.run("nix-store", ["--query", "--outputs", ...drvPaths.slice(start, start + 1000)])
            .pipe(Effect.mapError(unavailable))
          for (const line of result.stdout.split("\n")) if (line.trim() !== "") outputs.push(line.trim())
        }
        return outputs
      })

      const evaluator = evaluatorOf(sources)

      return Nix.of({ currentSystem, evaluate, evaluator, version, resolve, build, invalidPaths, toBuild, requisites, outputsOf })
    })
  )
}

/**
 * `nix/` beside the tool: from a checkout (`src/nix/Nix.ts` or `dist/tool.mjs`) or an
 * installed package, or wherever `CI_NIX_DIR` says.
 */
const locateNixFiles = Effect.fnUntraced(function*(path: Path.Path) {
  const configured = yield* Config.option(Config.String("CI_NIX_DIR"))
  const here = path.dirname(yield* path.fromFileUrl(new URL(import.meta.url)))
  const found = findNixDir(here, Option.getOrUndefined(configured))
  return found ?? (yield* Effect.die(new Error(`cannot find nix/ci-actions.nix above ${here}; set CI_NIX_DIR`)))
})
