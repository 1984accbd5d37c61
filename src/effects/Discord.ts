import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { DiscordAPIError, REST, RESTEvents, Routes } from "discord.js"
import type { MessagePayload } from "../render/embed.ts"

/**
 * Posting and editing the bot's messages through discord.js's REST client, which
 * queues per route and waits out 429s (`Retry-After`) on its own. Two transports:
 * a webhook (id and token), or a bot token and a channel.
 */

export type DiscordTransport =
  | { readonly _tag: "Webhook"; readonly id: string; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "Bot"; readonly token: Redacted.Redacted<string>; readonly channelId: string }

export class DiscordError extends Schema.TaggedError<DiscordError>()("DiscordError", {
  operation: Schema.String,
  status: Schema.NullOr(Schema.Int),
  code: Schema.NullOr(Schema.Union([Schema.Int, Schema.String])),
  detail: Schema.String
}) {
  override get message() {
    return `Discord ${this.operation} failed${this.status === null ? "" : ` (HTTP ${this.status}${this.code === null ? "" : `, code ${this.code}`})`}: ${this.detail}`
  }
  /** Discord's 30046: a message older than an hour takes only so many edits. */
  get editLimitReached() {
    return this.code === 30046
  }
  /** Discord's 10008: the message is not there (someone deleted it). */
  get messageGone() {
    return this.code === 10008
  }
}

/** A DiscordError, with the token cut out of anything that might quote a webhook URL. */
export const toError = (operation: string, token: Redacted.Redacted<string>) => (error: unknown) => {
  const scrub = (text: string) => text.replaceAll(Redacted.value(token), "<token>")
  return error instanceof DiscordAPIError
    ? new DiscordError({ operation, status: error.status, code: error.code, detail: scrub(error.message) })
    : new DiscordError({ operation, status: null, code: null, detail: scrub(error instanceof Error ? error.message : String(error)) })
}

const MessageId = Schema.Struct({ id: Schema.String })

export class Discord extends Context.Service<Discord, {
  /**
   * Post a message; its id. `nonce` makes a repeated post return the first message
   * (Discord checks it for a few minutes), where the transport supports it.
   */
  post(payload: MessagePayload, nonce: string): Effect.Effect<string, DiscordError>
  edit(messageId: string, payload: MessagePayload): Effect.Effect<void, DiscordError>
}>()("ci/effects/Discord") {
  static readonly layer = (options: { readonly transport: DiscordTransport; readonly api: string }) =>
    Layer.effect(Discord, Effect.gen(function*() {
      const transport = options.transport
      const rest = new REST({ version: "10", api: options.api.replace(/\/$/, "") })
      if (transport._tag === "Bot") rest.setToken(Redacted.value(transport.token))
      // discord.js waits a 429 out by itself; the log says so. Only these fields: the
      // event's url, route and major parameter can hold a webhook's token.
      const context = yield* Effect.context<never>()
      rest.on(RESTEvents.RateLimited, (limit) =>
        void Effect.runForkWith(context)(Effect.logWarning("rate limited").pipe(Effect.annotateLogs({
          method: limit.method,
          retry_after_ms: limit.retryAfter,
          global: limit.global,
          scope: limit.scope
        }))))

      const messageId = (response: unknown) =>
        Schema.decodeUnknownEffect(MessageId)(response).pipe(
          Effect.map((message) => message.id),
          Effect.mapError((error) => new DiscordError({ operation: "post", status: null, code: null, detail: `unexpected response: ${error.message}` }))
        )

      const post = Effect.fn("Discord.post")(function*(payload: MessagePayload, nonce: string) {
        const response = yield* Effect.tryPromise({
          try: () =>
            transport._tag === "Webhook"
              ? rest.post(Routes.webhook(transport.id, Redacted.value(transport.token)), {
                body: payload,
                query: new URLSearchParams({ wait: "true" }),
                auth: false
              })
              : rest.post(Routes.channelMessages(transport.channelId), { body: { ...payload, nonce, enforce_nonce: true } }),
          catch: toError("post", transport.token)
        })
        return yield* messageId(response)
      })

      const edit = Effect.fn("Discord.edit")(function*(id: string, payload: MessagePayload) {
        yield* Effect.tryPromise({
          try: () =>
            transport._tag === "Webhook"
              ? rest.patch(Routes.webhookMessage(transport.id, Redacted.value(transport.token), id), { body: payload, auth: false })
              : rest.patch(Routes.channelMessage(transport.channelId, id), { body: payload }),
          catch: toError("edit", transport.token)
        })
      })

      return Discord.of({ post, edit })
    }))
}
