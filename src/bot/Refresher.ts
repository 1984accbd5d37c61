import { Clock, Context, Duration, Effect, Layer, Option, Schema, Scope, Semaphore } from "effect"
import { createHash } from "node:crypto"
import { Build, buildRefFromUrl, type BuildRef, showBuildRef } from "../domain/BuildkiteBuild.ts"
import { BuildkiteApi, BuildkiteApiError } from "../effects/BuildkiteApi.ts"
import { Discord } from "../effects/Discord.ts"
import { Store } from "../effects/Store.ts"
import { renderMessage } from "../render/embed.ts"
import { buildStatus, makeView, rank } from "../render/view.ts"

/**
 * Brings each build's Discord message up to date. A webhook only says "look at
 * this build again": the refresh fetches the build (and the deploys it triggered)
 * from the REST API and renders the message from that snapshot. Hints that arrive
 * close together are taken together (`debounce`); one build refreshes at a time,
 * so a slow fetch never overtakes a later one; at most `concurrency` builds
 * refresh at once.
 */

export interface Root {
  readonly id: string
  readonly ref: BuildRef
}

const BuildFromJson = Schema.fromJsonString(Build)

/** Whether `later` has a job `earlier` lacks: a job retried (or a step added) since. */
const retriedSince = (earlier: Build, later: Build): boolean => {
  const known = new Set((earlier.jobs ?? []).map((job) => job.id))
  return (later.jobs ?? []).some((job) => !known.has(job.id))
}

export class Refresher extends Context.Service<Refresher, {
  /** Refresh this build's message soon: after `debounce`, and after any refresh under way. */
  hint(root: Root): Effect.Effect<void>
  /** Refresh every build the database says is out of date (after a restart, say). */
  readonly resume: Effect.Effect<void>
  /**
   * Stop: start no more refreshes, and wait up to `timeout` for those under way. Whatever
   * is left stays marked in the database, for the next start's `resume`; true when nothing was.
   */
  drain(timeout: Duration.Input): Effect.Effect<boolean>
}>()("ci/bot/Refresher") {
  static readonly layer = (options: { readonly debounce: Duration.Input; readonly concurrency: number }) =>
    Layer.effect(
      Refresher,
      Effect.gen(function*() {
        const api = yield* BuildkiteApi
        const discord = yield* Discord
        const store = yield* Store
        const scope = yield* Scope.Scope

        /**
         * The build as last fetched, unless that would show a finished build as unfinished
         * again: an answer from before it finished. A build retried after it finished is
         * unfinished again for real, and shows it: its retried job is a job the finished
         * build did not have (Buildkite gives the retry a new id).
         */
        const settled = Effect.fnUntraced(function*(build: Build) {
          const now = yield* Clock.currentTimeMillis
          const snapshot = { buildId: build.id, rank: rank(buildStatus(build)), body: JSON.stringify(build) }
          const further = yield* store.settle(snapshot, now)
          if (further === undefined) return build
          const stored = Schema.decodeUnknownOption(BuildFromJson)(further)
          if (Option.isSome(stored) && !retriedSince(stored.value, build)) return stored.value
          // Retried, or kept by a version of the bot that read builds differently: this one replaces it.
          yield* store.saveSnapshot(snapshot, now)
          return build
        })

        const refresh = Effect.fn("Refresher.refresh")(function*(root: Root) {
          const tracked = yield* store.build(root.id)
          if (tracked === undefined) return
          const fetched = yield* api.getBuild(root.ref).pipe(Effect.catchIf((error) => error.status === 404, (error) => Effect.succeed(error)))
          if (fetched instanceof BuildkiteApiError) {
            // Deleted, or never visible to this token: nothing more will come of it.
            yield* Effect.logWarning("build not found").pipe(Effect.annotateLogs({ status: 404, reason: "not in Buildkite: its message stays as it was" }))
            return yield* store.rendered(root.id, tracked.renderedHash ?? "", tracked.dirtySeq, yield* Clock.currentTimeMillis)
          }
          const build = yield* settled(fetched)
          const triggered = (build.jobs ?? [])
            .flatMap((job) => (job.triggered_build === undefined || job.triggered_build === null ? [] : [buildRefFromUrl(job.triggered_build.url)]))
            .filter((ref): ref is BuildRef => ref !== undefined)
          // A deploy build the API cannot find is left out, not a reason to leave the message behind.
          const found = yield* Effect.forEach(
            triggered,
            (ref) => api.getBuild(ref).pipe(Effect.flatMap(settled), Effect.map((deploy) => ({ ref, deploy })), Effect.catchIf((error) => error._tag === "BuildkiteApiError" && error.status === 404, () => Effect.succeed(undefined))),
            { concurrency: 2 }
          )
          const deployRefs = found.flatMap((entry) => (entry === undefined ? [] : [entry.ref]))
          const deploys = found.flatMap((entry) => (entry === undefined ? [] : [entry.deploy]))

          const view = makeView(build, deploys)
          const refs = new Map([[build.id, root.ref], ...deploys.map((deploy, i) => [deploy.id, deployRefs[i]!] as const)])
          yield* store.saveApprovable(
            view.approvals.map((approval) => ({ jobId: approval.jobId, rootId: root.id, ref: refs.get(approval.buildId)!, label: approval.label })),
            root.id
          )

          const payload = renderMessage(view)
          const hash = createHash("sha256").update(JSON.stringify(payload)).digest("hex")
          const now = yield* Clock.currentTimeMillis
          const post = Effect.fnUntraced(function*(nonce: string) {
            // Recorded first: a post cut short by a crash is retried with the same nonce.
            yield* store.startPosting(root.id, nonce, now)
            const messageId = yield* discord.post(payload, nonce)
            yield* store.posted(root.id, messageId, now)
            return messageId
          })
          const nonce = (salt: string) => createHash("sha256").update(`${root.id}:${salt}`).digest("hex").slice(0, 25)

          // What became of the message, for the refresh's line in the log.
          const outcome: { discord: string; discord_message?: string } = yield* Effect.gen(function*() {
            if (tracked.messageId === undefined) {
              const messageId = yield* post(tracked.postingNonce ?? nonce("first"))
              // A post retried after a crash may get back the message made the first time, showing what it showed then.
              if (tracked.postingNonce !== undefined) yield* discord.edit(messageId, payload)
              return { discord: "posted", discord_message: messageId }
            }
            if (hash === tracked.renderedHash) return { discord: "unchanged" }
            return yield* discord.edit(tracked.messageId, payload).pipe(
              Effect.as({ discord: "edited", discord_message: tracked.messageId }),
              // Discord refuses more edits of a message over an hour old: carry on in a new one.
              Effect.catchIf((error) => error.editLimitReached, () =>
                Effect.map(post(nonce(`after ${tracked.messageId}`)), (message) => ({ discord: "posted a follow-up", discord_message: message }))),
              // Someone deleted the message: that is their call, not something to undo.
              Effect.catchIf((error) => error._tag === "DiscordError" && error.messageGone, () =>
                Effect.succeed({ discord: "deleted in Discord, not posted again", discord_message: tracked.messageId! }))
            )
          })
          yield* store.rendered(root.id, hash, tracked.dirtySeq, now)
          yield* (outcome.discord === "unchanged" ? Effect.logDebug : Effect.logInfo)("refreshed").pipe(
            Effect.annotateLogs({ state: build.state, ...outcome })
          )
        })

        // Per build: whether a refresh is under way, whether another is wanted after
        // it, and how many in a row have failed.
        const state = new Map<string, { again: boolean; failures: number }>()

        // A few refreshes at a time: their fetching, decoding and rendering share the thread
        // that answers webhooks, and Discord takes one request at a time anyway.
        const permits = yield* Semaphore.make(options.concurrency)
        let stopping = false

        // Every line a build's refreshes log names the build.
        const worker = Effect.fnUntraced(function*(root: Root): Effect.fn.Return<void> {
          yield* Effect.sleep(options.debounce)
          const entry = state.get(root.id)!
          const failure = yield* permits.withPermit(Effect.suspend(() => {
            // Stopping: the build stays marked, and the next start refreshes it.
            if (stopping) {
              entry.again = false
              return Effect.void
            }
            // Hints from here on need another refresh; those before are covered by this one.
            entry.again = false
            return refresh(root)
          })).pipe(Effect.as(undefined), Effect.catch(Effect.succeed))
          if (stopping) {
            state.delete(root.id)
            return
          }
          if (failure === undefined) {
            entry.failures = 0
          } else {
            // Backing off to 5 minutes: Discord bans an address that keeps getting 401s and 429s.
            const wait = Duration.seconds(Math.min(5 * 2 ** entry.failures, 300))
            entry.failures += 1
            yield* Effect.logWarning("refresh failed").pipe(Effect.annotateLogs({ retry_in: Duration.format(wait), error: failure.message }))
            yield* Effect.sleep(wait)
            entry.again = true
          }
          if (entry.again) return yield* worker(root)
          state.delete(root.id)
        })

        const hint = (root: Root) =>
          Effect.suspend(() => {
            const running = state.get(root.id)
            if (running !== undefined) {
              running.again = true
              return Effect.void
            }
            state.set(root.id, { again: false, failures: 0 })
            return Effect.asVoid(Effect.forkIn(worker(root).pipe(Effect.annotateLogs({ build: showBuildRef(root.ref) })), scope))
          })

        const resume = Effect.flatMap(store.dirtyBuilds, (builds) =>
          Effect.forEach(builds, (build) => hint({ id: build.id, ref: build.ref }), { discard: true })).pipe(
            Effect.catch((error) => Effect.annotateLogs(Effect.logError("resume failed"), { error: error.message }))
          )

        // Every permit taken is every refresh under way finished; none starts after.
        const drain = (timeout: Duration.Input) =>
          Effect.suspend(() => {
            stopping = true
            return permits.take(options.concurrency).pipe(Effect.timeoutOption(timeout), Effect.map(Option.isSome))
          })

        return Refresher.of({ hint, resume, drain })
      })
    )
}
