import { Config, Context, Effect, FileSystem, Layer, Option, Path, Result, Schema, Semaphore } from "effect"
import { randomBytes } from "node:crypto"
import { homedir } from "node:os"
import { PlanInputError } from "../domain/errors.ts"
import { nixIdentity } from "../effects/nixIdentity.ts"
import { cacheDirectory, cacheEntryServes, cacheEntryText, cacheFormat, cacheKey } from "./evaluationCommand.ts"
import { FlakeEvaluation } from "./FlakeEvaluation.ts"
import type { FlakeSource } from "./flakeRef.ts"
import { Nix, type NixEvalError, type NixOutputInvalid, type NixUnavailable } from "./Nix.ts"

/**
 * Flake evaluations as every command asks for them: each one once. Requests for the
 * same commit, system and evaluator share one `nix eval` within a process, and
 * across processes through an on-disk cache, so a plan whose base was the head of an
 * earlier plan evaluates only its head.
 */

export interface EvaluationRequest {
  readonly source: FlakeSource
  readonly system: string
  /** Whether `ciActions` is resolved too (a head); a base needs only the outputs. */
  readonly withActions: boolean
  /** How many `nix eval`s share it if Nix evaluates it (src/nix/workerEvaluations.ts); 1 by default. */
  readonly workers?: number
}

export type EvaluationError = NixEvalError | NixUnavailable | NixOutputInvalid

export interface EvaluationsOptions {
  /** Read and write the on-disk cache (`--no-cache` turns it off). */
  readonly cache: boolean
  /** Default: `$XDG_CACHE_HOME/ci/evaluations`, else `~/.cache/ci/evaluations`. */
  readonly directory?: string | undefined
  /** Default: `CI_CACHE_MAX_BYTES`, else 256 MiB; the least recently used entries go first. */
  readonly maxBytes?: number | undefined
}

/** How many `nix eval`s run at once: each holds its flake's whole evaluation in memory. */
const concurrency = 4

const CacheEntry = Schema.Struct({ format: Schema.Literal(cacheFormat), withActions: Schema.Boolean, evaluation: FlakeEvaluation })
const CacheEntryFromJson = Schema.fromJsonString(CacheEntry)

export class Evaluations extends Context.Service<Evaluations, {
  /** One evaluation: from the cache, from the same request already running, or from Nix. */
  evaluate(request: EvaluationRequest): Effect.Effect<FlakeEvaluation, EvaluationError>
  /** Several, deduplicated and concurrent; each request's own result, in order. */
  evaluateAll(requests: ReadonlyArray<EvaluationRequest>): Effect.Effect<ReadonlyArray<Result.Result<FlakeEvaluation, EvaluationError>>>
  /**
   * Whether the on-disk cache has an entry that would serve the request, by the entry's start
   * (it is decoded, and checked, only when read), as the head start tells it.
   */
  isCached(request: EvaluationRequest): Effect.Effect<boolean, EvaluationError>
}>()("ci/nix/Evaluations") {
  static readonly layer = (options: EvaluationsOptions) =>
    Layer.effect(
      Evaluations,
      Effect.gen(function*() {
        const nix = yield* Nix
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const directory = options.directory ?? (yield* defaultDirectory())
        const maxBytes = options.maxBytes ?? (yield* Config.Int("CI_CACHE_MAX_BYTES").pipe(
          Config.withDefault(256 * 1024 * 1024),
          Effect.mapError(() => new PlanInputError({ place: "CI_CACHE_MAX_BYTES", detail: "expected a whole number of bytes" }))
        ))
        const permits = yield* Semaphore.make(concurrency)
        const searchPath = yield* Config.String("PATH").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
        const identity = yield* Effect.cached(Effect.sync(() => nixIdentity(searchPath)).pipe(
          Effect.flatMap((found) => found === undefined ? Effect.map(nix.version, (version) => version.text) : Effect.succeed(found))
        ))
        // Requests running in this process, by key and whether actions were asked for.
        const running = new Map<string, Effect.Effect<FlakeEvaluation, EvaluationError>>()

        const entryPath = (key: string) => path.join(directory, `${key}.json`)

        // A hit needs the actions when they were asked for; an entry with them serves
        // a request without them too. Anything unreadable is a miss, and is rewritten.
        const read = (key: string, withActions: boolean) =>
          fs.readFileString(entryPath(key)).pipe(
            Effect.flatMap(Schema.decodeUnknownEffect(CacheEntryFromJson)),
            Effect.flatMap((entry): Effect.Effect<FlakeEvaluation | undefined> => {
              if (withActions && !entry.withActions) return Effect.succeed(undefined)
              // Touched, so that eviction takes the least recently used.
              const now = new Date()
              return fs.utimes(entryPath(key), now, now).pipe(
                Effect.ignore,
                Effect.as(withActions ? entry.evaluation : { ...entry.evaluation, actions: null })
              )
            }),
            Effect.orElseSucceed(() => undefined)
          )

        // Written whole under a unique name, then renamed: a concurrent reader sees
        // the old entry or the new one, never part of one. A cache that cannot be
        // written is no cache, never a failed plan.
        const write = (key: string, withActions: boolean, evaluation: FlakeEvaluation) =>
          Effect.gen(function*() {
            yield* fs.makeDirectory(directory, { recursive: true })
            const temporary = path.join(directory, `${key}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`)
            yield* fs.writeFileString(temporary, cacheEntryText(withActions, evaluation))
            yield* fs.rename(temporary, entryPath(key)).pipe(Effect.onError(() => fs.remove(temporary).pipe(Effect.ignore)))
            yield* evict
          }).pipe(Effect.ignore)

        // Oldest first until the rest fit; temporary files of a writer that died count too.
        const evict = Effect.gen(function*() {
          const names = yield* fs.readDirectory(directory)
          const files = yield* Effect.forEach(names, (name) =>
            fs.stat(path.join(directory, name)).pipe(
              Effect.map((info) => ({
                name,
                size: Number(info.size),
                mtime: Option.match(info.mtime, { onNone: () => 0, onSome: (date) => date.getTime() })
              })),
              Effect.option
            ), { concurrency: 16 })
          const present = files.flatMap((file) => Option.isSome(file) ? [file.value] : [])
          let total = present.reduce((sum, file) => sum + file.size, 0)
          for (const file of present.sort((a, b) => a.mtime - b.mtime)) {
            if (total <= maxBytes) break
            yield* fs.remove(path.join(directory, file.name)).pipe(Effect.ignore)
            total -= file.size
          }
        })

        const load = (request: EvaluationRequest): Effect.Effect<FlakeEvaluation, EvaluationError> =>
          Effect.gen(function*() {
            // A work tree (no commit) is no key: `tool run` evaluates uncommitted changes.
            const evaluated = nix.evaluate(request.source, request.system, { withActions: request.withActions, workers: request.workers ?? 1 })
            if (!options.cache || request.source.rev === undefined) return yield* evaluated
            const key = cacheKey(request.source, request.system, nix.evaluator, yield* identity)
            const hit = yield* read(key, request.withActions)
            if (hit !== undefined) return hit
            const evaluation = yield* evaluated
            yield* write(key, request.withActions, evaluation)
            return evaluation
          }).pipe(permits.withPermit)

        const evaluate = Effect.fn("Evaluations.evaluate")(function*(request: EvaluationRequest) {
          // Within a process, the same request is one evaluation: the first caller's.
          const id = JSON.stringify([request.source, request.system, request.withActions])
          const existing = running.get(id)
          if (existing !== undefined) return yield* existing
          // Forgotten once done: a later request reads the disk cache, and a long-running
          // process (tool watch) does not keep every evaluation it ever made.
          const shared = yield* Effect.cached(load(request).pipe(Effect.ensuring(Effect.sync(() => running.delete(id)))))
          running.set(id, shared)
          return yield* shared
        })

        const evaluateAll = Effect.fn("Evaluations.evaluateAll")(function*(requests: ReadonlyArray<EvaluationRequest>) {
          return yield* Effect.forEach(requests, (request) => Effect.result(evaluate(request)), { concurrency: "unbounded" })
        })

        const isCached = Effect.fn("Evaluations.isCached")(function*(request: EvaluationRequest) {
          if (!options.cache || request.source.rev === undefined) return false
          const key = cacheKey(request.source, request.system, nix.evaluator, yield* identity)
          return cacheEntryServes(yield* fs.readFileString(entryPath(key)).pipe(Effect.orElseSucceed(() => undefined)), request.withActions)
        })

        return Evaluations.of({ evaluate, evaluateAll, isCached })
      })
    )
}

const defaultDirectory = Effect.fnUntraced(function*() {
  const xdg = yield* Config.option(Config.String("XDG_CACHE_HOME"))
  return cacheDirectory(Option.getOrUndefined(xdg), homedir())
})
