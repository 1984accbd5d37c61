import { Command } from "effect/cli"
import { flags } from "../commands/why/flags.ts"
import { lazily } from "./lazily.ts"

export const why = Command.make(
  "why",
  flags,
  lazily(() => import("../commands/why.ts"), (module, input) => module.why(input))
).pipe(
  Command.withDescription(
    "Say why an output changed between two commits: the first differences between its derivations, through the inputs that changed"
  ),
  Command.withExamples([
    { command: "tool why bot", description: "Why packages.<system>.bot differs from the previous commit" },
    { command: "tool why packages.x86_64-linux.bot --base v1.0.0 --depth 8", description: "Since a release, looking deeper into inputs" }
  ])
)
