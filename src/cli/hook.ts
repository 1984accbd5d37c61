import { Command, Flag } from "effect/cli"
import { lazily } from "./lazily.ts"

const install = Command.make(
  "install",
  {
    uninstall: Flag.Boolean("uninstall").pipe(Flag.withDescription("Remove the hook this command wrote (and nothing else)"), Flag.withDefault(false))
  },
  lazily(() => import("../commands/hook.ts"), (module, input) => module.install(input))
).pipe(
  Command.withDescription("Install a git pre-push hook that runs tool run (checks and builds, no deploy) on the commits being pushed")
)

export const hook = Command.make("hook").pipe(
  Command.withDescription("Git hooks: tool hook install [--uninstall]"),
  Command.withSubcommands([install])
)
