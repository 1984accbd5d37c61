import { Argument, Command, Flag } from "effect/cli"
import { lazily } from "./lazily.ts"
import { localFlag } from "./reporting.ts"

export const build = Command.make(
  "build",
  {
    json: Flag.String("json").pipe(Flag.withDescription("Also write every result, as JSON, to this file"), Flag.optional),
    fromMetaData: Flag.String("from-meta-data").pipe(
      Flag.withDescription("Also build the installables `tool plan` stored under this meta-data key"),
      Flag.optional
    ),
    part: Flag.String("part").pipe(
      Flag.withDescription(
        "The share of a split build set this step builds (letters, digits, _ . -): its summary and annotation are its own, so shards never overwrite each other's"
      ),
      Flag.optional
    ),
    local: localFlag,
    installables: Argument.String("installable").pipe(
      Argument.withDescription("What to build, for example .#packages.x86_64-linux.bot or .#apps.x86_64-linux.deploy"),
      Argument.variadic()
    )
  },
  lazily(() => import("../commands/build.ts"), (module, input) => module.build(input))
).pipe(
  Command.withDescription(
    "Build every target in one nix build --keep-going and report each derivation: built, cached, substituted, failed or dependency-failed"
  ),
  Command.withExamples([
    { command: "tool build -- .#packages.x86_64-linux.bot .#apps.x86_64-linux.deploy", description: "Build a package and an app" }
  ])
)
