import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { REST, Routes } from "discord.js"
import type { MessagePayload } from "../render/embed.ts"
import { DiscordError, toError } from "./Discord.ts"

/**
 * Discord's side of application commands: replacing the application's commands
 * (`PUT /applications/{app}/commands`, a bulk overwrite, with the bot token), and
 * editing the answer to an interaction the bot deferred
 * (`PATCH /webhooks/{app}/{interaction token}/messages/@original`, no bot token:
 * the interaction's token, valid 15 minutes, is the credential).
 */

const StoredCommands = Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))

export class DiscordInteractions extends Context.Service<DiscordInteractions, {
  editOriginal(applicationId: string, token: Redacted.Redacted<string>, payload: MessagePayload): Effect.Effect<void, DiscordError>
  /** The application's commands become exactly these; their names, as Discord stored them. */
  registerCommands(applicationId: string, botToken: Redacted.Redacted<string>, commands: ReadonlyArray<object>): Effect.Effect<ReadonlyArray<string>, DiscordError>
}>()("ci/effects/DiscordInteractions") {
  static readonly layer = (options: { readonly api: string }) =>
    Layer.sync(DiscordInteractions, () => {
      const rest = (token?: Redacted.Redacted<string>) => {
        const client = new REST({ version: "10", api: options.api.replace(/\/$/, "") })
        return token === undefined ? client : client.setToken(Redacted.value(token))
      }
      const unauthenticated = rest()

      const editOriginal = Effect.fn("DiscordInteractions.editOriginal")(function*(applicationId: string, token: Redacted.Redacted<string>, payload: MessagePayload) {
        yield* Effect.tryPromise({
          try: () => unauthenticated.patch(Routes.webhookMessage(applicationId, Redacted.value(token), "@original"), { body: payload, auth: false }),
          catch: toError("edit the interaction's answer", token)
        })
      })

      const registerCommands = Effect.fn("DiscordInteractions.registerCommands")(function*(applicationId: string, botToken: Redacted.Redacted<string>, commands: ReadonlyArray<object>) {
        const stored = yield* Effect.tryPromise({
          try: () => rest(botToken).put(Routes.applicationCommands(applicationId), { body: commands }),
          catch: toError("register the commands", botToken)
        })
        const commandsStored = yield* Schema.decodeUnknownEffect(StoredCommands)(stored).pipe(
          Effect.mapError((error) => new DiscordError({ operation: "register the commands", status: null, code: null, detail: `unexpected response: ${error.message}` }))
        )
        return commandsStored.map((command) => command.name)
      })

      return DiscordInteractions.of({ editOriginal, registerCommands })
    })
}
