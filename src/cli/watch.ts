import { Command, Flag } from "effect/cli"
import { flags as runFlags } from "../commands/run/flags.ts"
import { lazily } from "./lazily.ts"

const flags = {
  flake: runFlags.flake,
  system: runFlags.system,
  branch: runFlags.branch,
  tag: runFlags.tag,
  jobs: runFlags.jobs,
  debounce: Flag.Int("debounce").pipe(Flag.withDescription("Milliseconds of quiet before a round starts"), Flag.withDefault(300))
}

export const watch = Command.make(
  "watch",
  flags,
  lazily(() => import("../commands/watch.ts"), (module, input) => module.watch(input))
).pipe(
  Command.withDescription("Run tool run again whenever the flake's files change, each round against the one before")
)
