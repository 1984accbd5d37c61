import { Console, Effect, type Option } from "effect"
import { DiscordInteractions } from "../effects/DiscordInteractions.ts"
import { readRegistrationConfig } from "./BotConfig.ts"
import { ciCommands } from "./commands.ts"

/**
 * `tool bot register-commands`: the application's commands become exactly `/ci`
 * (Discord's bulk overwrite), so running it again changes nothing and a command
 * renamed or removed here goes from Discord too.
 */
export const registerCommands = Effect.fnUntraced(function*(configFile: Option.Option<string>) {
  const config = yield* readRegistrationConfig(configFile)
  const names = yield* DiscordInteractions.use((discord) => discord.registerCommands(config.applicationId, config.botToken, ciCommands)).pipe(
    Effect.provide(DiscordInteractions.layer({ api: config.discordApiUrl }))
  )
  yield* Console.log(`registered for application ${config.applicationId}: ${names.map((name) => `/${name}`).join(", ")}`)
})
