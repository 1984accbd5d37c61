import { Command, Flag } from "effect/cli"
import { lazily } from "./lazily.ts"

/**
 * `tool bot`: one live Discord message per Buildkite build, and the `/ci` commands.
 * The server lives in src/bot/serve.ts, loaded only here: no other command loads
 * discord.js.
 */

const config = Flag.String("config").pipe(
  Flag.withDescription("A JSON file of settings (default: CI_BOT_CONFIG); environment variables win over it"),
  Flag.optional
)

const registerCommands = Command.make(
  "register-commands",
  { config },
  lazily(() => import("../bot/register.ts"), (register, input) => register.registerCommands(input.config))
).pipe(
  Command.withDescription(
    "Register the /ci command with Discord, replacing the application's commands (needs CI_BOT_DISCORD_APPLICATION_ID and CI_BOT_DISCORD_BOT_TOKEN)"
  )
)

const logFormat = Flag.Literals("log-format", ["logfmt", "json"]).pipe(
  Flag.withDescription("One line per event: logfmt (key=value) or JSON"),
  Flag.withDefault("logfmt")
)

const logLevel = Flag.Literals("log-level", ["debug", "info", "warning", "error"]).pipe(
  Flag.withDescription("The least important events logged (debug adds health checks and unchanged refreshes)"),
  Flag.withDefault("info")
)

export const bot = Command.make(
  "bot",
  { config, logFormat, logLevel },
  lazily(() => import("../bot/serve.ts"), (server, input) => server.serve(input.config, { format: input.logFormat, level: input.logLevel }))
).pipe(
  Command.withDescription("Serve Buildkite webhooks and Discord interactions: one live Discord message per build (see docs/bot.md)"),
  Command.withSubcommands([registerCommands])
)
