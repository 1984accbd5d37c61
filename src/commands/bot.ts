import { Effect } from "effect"
import { Command, Flag } from "effect/cli"

/**
 * `tool bot`: one live Discord message per Buildkite build. The server lives in
 * src/bot/serve.ts, loaded only here: no other command loads discord.js.
 */
export const bot = Command.make(
  "bot",
  {
    config: Flag.String("config").pipe(
      Flag.withDescription("A JSON file of settings (default: CI_BOT_CONFIG); environment variables win over it"),
      Flag.optional
    )
  },
  (input) => Effect.flatMap(Effect.promise(() => import("../bot/serve.ts")), (server) => server.serve(input.config))
).pipe(
  Command.withDescription("Serve Buildkite webhooks and Discord interactions: one live Discord message per build (see docs/bot.md)")
)
