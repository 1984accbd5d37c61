import { NodeHttpServer } from "@effect/platform-node"
import { ByteSize, Clock, Effect, Layer, Logger, Option, Redacted, References, Schema } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServer, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { SourceBuildEnv } from "../domain/buildEnv.ts"
import { buildRefFromUrl, showBuildRef } from "../domain/BuildkiteBuild.ts"
import { BuildkiteApi } from "../effects/BuildkiteApi.ts"
import { Discord } from "../effects/Discord.ts"
import { DiscordInteractions } from "../effects/DiscordInteractions.ts"
import { Store } from "../effects/Store.ts"
import { type BotConfig, readBotConfig } from "./BotConfig.ts"
import { publicKeyFromHex, verifyInteraction } from "./interactionAuth.ts"
import { Commands, CommandInteraction } from "./commands.ts"
import { Refresher, type Root } from "./Refresher.ts"
import { verifyWebhook } from "./webhookAuth.ts"

/**
 * The bot's server: Buildkite webhooks in, one Discord message per build out,
 * and Discord's "Approve" buttons back to Buildkite. Loaded only by `tool bot`,
 * so the other commands never load discord.js.
 *
 *   POST /webhooks/buildkite   authenticated, then a hint to refresh the build's message
 *   POST /interactions         Discord's signed interactions: ping, approvals, the /ci commands
 *   GET  /healthz
 */

const WebhookEnvelope = Schema.fromJsonString(
  Schema.Struct({
    event: Schema.String,
    build: Schema.optionalKey(
      Schema.Struct({
        id: Schema.String,
        url: Schema.String,
        env: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)))
      })
    )
  })
)

const Interaction = Schema.fromJsonString(
  Schema.Struct({
    id: Schema.String,
    type: Schema.Number,
    application_id: Schema.optionalKey(Schema.String),
    token: Schema.optionalKey(Schema.String),
    data: Schema.optionalKey(Schema.Struct({ custom_id: Schema.optionalKey(Schema.String) })),
    member: Schema.optionalKey(Schema.Struct({ user: Schema.Struct({ id: Schema.String }) })),
    user: Schema.optionalKey(Schema.Struct({ id: Schema.String }))
  })
)

const CommandFromJson = Schema.fromJsonString(CommandInteraction)

const text = (status: number, body: string) => HttpServerResponse.text(body, { status })

/**
 * The log has one line per event, each with its details as fields (logfmt or JSON,
 * `--log-format`), written by the route that knows what happened rather than an access
 * log. Never a header, a token or a signature: only the tool's own words and names.
 */
const logged = <A>(log: (message: string) => Effect.Effect<void>, message: string, fields: Record<string, unknown>, answer: A) =>
  Effect.as(Effect.annotateLogs(log(message), fields), answer)
const refused = (what: string, status: number, reason: string, fields: Record<string, unknown> = {}) =>
  logged(Effect.logWarning, `${what} refused`, { ...fields, status, reason }, text(status, reason))
const reply = (data: object) => HttpServerResponse.jsonUnsafe(data)
const ephemeral = (content: string) => reply({ type: 4, data: { content, flags: 64, allowed_mentions: { parse: [] } } })

/** The request's raw bytes, at most `limit` of them: signatures cover the bytes, not the JSON. */
const rawBody = (request: HttpServerRequest.HttpServerRequest, limit: number) => {
  const length = Number(request.headers["content-length"] ?? "0")
  if (length > limit) return Effect.fail(413)
  return request.arrayBuffer.pipe(
    Effect.map((buffer) => new Uint8Array(buffer)),
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)),
    Effect.mapError((error) => (error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge" ? 413 : 400))
  )
}

const decodeSourceBuild = Schema.decodeUnknownOption(SourceBuildEnv)

/** The build whose message an event concerns: a deploy build's is the CI build that triggered it. */
const rootOf = (build: { readonly id: string; readonly url: string; readonly env?: Record<string, unknown> | null }): Root | undefined => {
  const ref = buildRefFromUrl(build.url)
  if (ref === undefined) return undefined
  const source = decodeSourceBuild(build.env)
  if (Option.isSome(source)) {
    const { DENBEIGH_SOURCE_BUILD_ID: id, DENBEIGH_SOURCE_PIPELINE: pipeline, DENBEIGH_SOURCE_BUILD_NUMBER: number } = source.value
    return { id, ref: { organization: ref.organization, pipeline, number: Number(number) } }
  }
  return { id: build.id, ref }
}

const usedEvents = /^(build|job)\./

const routes = (config: BotConfig) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const store = yield* Store
    const refresher = yield* Refresher
    const api = yield* BuildkiteApi
    const commands = yield* Commands
    const publicKey = config.discordPublicKey === undefined ? undefined : publicKeyFromHex(config.discordPublicKey)

    // Up, with how many builds wait for their message to catch up.
    // Checked every few seconds by whatever watches the bot: at DEBUG, below the default level.
    yield* router.add("GET", "/healthz", Effect.flatMap(store.dirtyBuilds, (builds) =>
      logged(Effect.logDebug, "health check", { pending: builds.length }, reply({ ok: true, pending: builds.length }))).pipe(
        Effect.catch((error) =>
          logged(Effect.logError, "health check failed", { error: error.message }, HttpServerResponse.jsonUnsafe({ ok: false, error: error.message }, { status: 503 }))
        )
      ))

    yield* router.add("POST", "/webhooks/buildkite", Effect.fnUntraced(function*(request) {
      const body = yield* rawBody(request, config.maxBodyBytes).pipe(Effect.result)
      if (body._tag === "Failure") return yield* refused("webhook", body.failure, body.failure === 413 ? "body too large" : "unreadable body")
      const now = yield* Clock.currentTimeMillis
      const auth = verifyWebhook(
        { signature: request.headers["x-buildkite-signature"], token: request.headers["x-buildkite-token"], body: body.success },
        Redacted.value(config.webhookSecret),
        Math.floor(now / 1000),
        config.webhookTolerance
      )
      if (auth._tag === "Rejected") return yield* refused("webhook", 401, auth.reason)

      const envelope = yield* Schema.decodeUnknownEffect(WebhookEnvelope)(new TextDecoder().decode(body.success)).pipe(Effect.result)
      if (envelope._tag === "Failure") return yield* refused("webhook", 400, `not a Buildkite webhook: ${envelope.failure.message}`)
      const event = envelope.success.event
      const ignored = (status: number, reason: string, fields: Record<string, unknown> = {}) =>
        logged(Effect.logInfo, "webhook ignored", { event, ...fields, reason }, text(status, reason))
      if (event === "ping") return yield* ignored(200, "pong")
      if (!usedEvents.test(event)) return yield* ignored(202, `${event}: not used`)
      const build = envelope.success.build
      const root = build === undefined ? undefined : rootOf(build)
      if (root === undefined) return yield* refused("webhook", 400, `${event} without a build the REST API can find`, { event })

      // A signature seen before is a replay; a token delivery repeated is a duplicate, harmless.
      const fields = { event, build: showBuildRef(root.ref) }
      const fresh = yield* store.accept(auth.deliveryId, root, now)
      if (!fresh) return yield* (auth.replayable ? refused("webhook", 401, "replayed delivery", fields) : ignored(200, "duplicate", fields))
      yield* refresher.hint(root)
      return yield* logged(Effect.logInfo, "webhook received", fields, text(200, "queued"))
    }, Effect.catch((error) => logged(Effect.logError, "webhook failed", { error: error.message }, text(500, "the bot could not record this delivery")))))

    yield* router.add("POST", "/interactions", Effect.fnUntraced(function*(request) {
      const body = yield* rawBody(request, 64 * 1024).pipe(Effect.result)
      if (body._tag === "Failure") return yield* refused("interaction", body.failure, "unreadable body")
      if (publicKey === undefined) return yield* refused("interaction", 401, "interactions are not configured: set CI_BOT_DISCORD_PUBLIC_KEY")
      const now = yield* Clock.currentTimeMillis
      const auth = verifyInteraction(publicKey, request.headers["x-signature-ed25519"], request.headers["x-signature-timestamp"], body.success, Math.floor(now / 1000))
      if (auth._tag === "Rejected") return yield* refused("interaction", 401, auth.reason)
      const interaction = yield* Schema.decodeUnknownEffect(Interaction)(new TextDecoder().decode(body.success)).pipe(Effect.result)
      if (interaction._tag === "Failure") return yield* refused("interaction", 400, "not an interaction")
      const { id, type, data, member, user, application_id, token } = interaction.success
      // Discord sends each interaction once: the same id again is someone replaying it.
      if (!(yield* store.acceptInteraction(id, now))) return yield* refused("interaction", 401, "replayed interaction")
      if (type === 1) return yield* logged(Effect.logDebug, "interaction", { kind: "ping" }, reply({ type: 1 }))
      const userId = member?.user.id ?? user?.id
      if (type === 2 || type === 4) {
        const command = Schema.decodeUnknownOption(CommandFromJson)(new TextDecoder().decode(body.success))
        if (Option.isNone(command)) return yield* refused("interaction", 400, "not a command interaction")
        const answer = yield* commands.answer(command.value, userId ?? "")
        return yield* logged(Effect.logInfo, "interaction", { kind: type === 2 ? "command" : "autocomplete", user: userId ?? null }, reply(answer))
      }
      const jobId = type === 3 ? /^approve:(.+)$/.exec(data?.custom_id ?? "")?.[1] : undefined
      if (jobId === undefined || application_id === undefined || token === undefined) return yield* refused("interaction", 400, "unknown interaction")

      const fields = { kind: "approve", user: userId ?? null, job: jobId }
      const declined = (reason: string) => logged(Effect.logInfo, "approval declined", { ...fields, reason }, ephemeral(reason))
      if (userId === undefined || !config.approvers.includes(userId)) return yield* declined("Only the configured approvers can approve deploys.")
      const job = yield* store.approvable(jobId)
      if (job === undefined) return yield* declined("This step is not waiting for approval any more.")
      // Buildkite may take longer than Discord's three seconds: "thinking…" now, the outcome as an edit.
      const said = (content: string) => ({ content, allowed_mentions: { parse: [] } })
      const unblock = Effect.gen(function*() {
        const unblocked = yield* api.unblockJob(job.ref, job.jobId).pipe(Effect.result)
        if (unblocked._tag === "Failure") {
          return yield* logged(Effect.logWarning, "unblock failed", { ...fields, error: unblocked.failure.message }, said(`❌ Buildkite did not unblock ${job.label}: ${unblocked.failure.message}`))
        }
        const root = { id: job.rootId, ref: (yield* store.build(job.rootId))?.ref ?? job.ref }
        yield* store.markDirty(root, yield* Clock.currentTimeMillis)
        yield* refresher.hint(root)
        return yield* logged(Effect.logInfo, "unblocked", { ...fields, build: showBuildRef(job.ref) }, said(`✅ <@${userId}> approved ${job.label}.`))
      }).pipe(Effect.catch((error) => logged(Effect.logError, "approval failed", { ...fields, error: error.message }, said("❌ The bot failed after Buildkite unblocked the step; its message catches up later."))))
      return yield* logged(Effect.logInfo, "interaction", fields, reply(yield* commands.defer({ application_id, token }, false, unblock)))
    }, Effect.catch((error) => logged(Effect.logError, "interaction failed", { error: error.message }, ephemeral("The bot failed; the step is unchanged.")))))
  }))

/** Everything the bot runs on, built from its configuration. */
const botLayer = (config: BotConfig) => {
  const services = Layer.mergeAll(
    Store.layer(config.databasePath),
    BuildkiteApi.layer({ url: config.buildkiteApiUrl, token: config.buildkiteApiToken }),
    Discord.layer({ transport: config.discord, api: config.discordApiUrl })
  )
  const refresher = Refresher.layer({ debounce: config.debounceMillis, concurrency: 4 }).pipe(
    Layer.merge(Commands.layer({ pipeline: config.pipeline, defaultBranch: config.defaultBranch, approvers: config.approvers })),
    Layer.provideMerge(Layer.merge(services, DiscordInteractions.layer({ api: config.discordApiUrl })))
  )
  // Each route logs what it did (`logged`): no access log besides.
  return HttpRouter.serve(routes(config), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: config.host, port: config.port })),
    Layer.provideMerge(refresher)
  )
}

/** How long a stop waits for the work under way: less than systemd's 90 s before it SIGKILLs. */
const stopGrace = "20 seconds"

/**
 * SIGTERM, as a service manager sends it: a normal stop. The process runner's own handler
 * (interrupt, exit 130) steps aside while the bot serves, and comes back for a second signal.
 */
const terminated = Effect.callback<void>((resume) => {
  const runners = process.listeners("SIGTERM")
  const restore = () => {
    process.off("SIGTERM", onTerm)
    for (const listener of runners) if (!process.listeners("SIGTERM").includes(listener)) process.on("SIGTERM", listener)
  }
  const onTerm = () => {
    restore()
    resume(Effect.void)
  }
  for (const listener of runners) process.off("SIGTERM", listener)
  process.on("SIGTERM", onTerm)
  return Effect.sync(restore)
})

export type LogFormat = "logfmt" | "json"
export type LogLevel = "debug" | "info" | "warning" | "error"

/** One line per event, in the format asked for, from the level asked for up. */
const logging = (format: LogFormat, level: LogLevel) =>
  Layer.merge(
    Logger.layer([format === "json" ? Logger.consoleJson : Logger.consoleLogFmt]),
    Layer.succeed(References.MinimumLogLevel, ({ debug: "Debug", info: "Info", warning: "Warn", error: "Error" } as const)[level])
  )

/** Read the configuration, then serve until the process is stopped. */
export const serve = (configFile: Option.Option<string>, log: { readonly format: LogFormat; readonly level: LogLevel }) =>
  served(configFile).pipe(Effect.provide(logging(log.format, log.level)))

const served = Effect.fnUntraced(function*(configFile: Option.Option<string>) {
  const config = yield* readBotConfig(configFile)
  yield* Effect.gen(function*() {
    const refresher = yield* Refresher
    const commands = yield* Commands
    const store = yield* Store
    const server = yield* HttpServer.HttpServer
    yield* Effect.logInfo(`listening on ${HttpServer.formatAddress(server.address)}`).pipe(
      Effect.annotateLogs({ discord: config.discord._tag === "Bot" ? "bot" : "webhook" })
    )
    // What a previous run left to do, then what comes, until SIGTERM.
    yield* refresher.resume
    yield* Effect.raceFirst(
      Effect.forever(
        Effect.sleep("10 minutes").pipe(
          Effect.andThen(Clock.currentTimeMillis),
          Effect.flatMap((now) => store.forgetDeliveriesBefore(now - 2 * config.webhookTolerance * 1000)),
          Effect.catch((error) => Effect.logWarning(error.message))
        )
      ),
      terminated
    )
    // Deliveries still come in and are recorded meanwhile; what is not refreshed stays marked.
    yield* Effect.logInfo("stopping").pipe(Effect.annotateLogs({ signal: "SIGTERM", grace: stopGrace }))
    const [refreshed, answered] = yield* Effect.all([refresher.drain(stopGrace), commands.drain(stopGrace)], { concurrency: "unbounded" })
    const left = [
      refreshed ? undefined : "refreshes still under way are left for the next start",
      answered ? undefined : "answers to /ci still under way are not sent"
    ].filter((part) => part !== undefined)
    yield* Effect.logInfo("stopped").pipe(Effect.annotateLogs(left.length === 0 ? {} : { left: left.join("; ") }))
  }).pipe(Effect.provide(botLayer(config)))
})
