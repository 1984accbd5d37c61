import { Argument, Flag } from "effect/cli"
import { defaultWhyOptions } from "../../plan/why.ts"

/** `tool why`'s flags. */

export const flags = {
  attr: Argument.String("attr").pipe(
    Argument.withDescription("The output: bot, packages.bot or packages.x86_64-linux.bot (also checks, devShells, formatter, apps)")
  ),
  flake: Flag.String("flake").pipe(Flag.withDescription("The flake's directory, inside a git checkout"), Flag.withDefault(".")),
  base: Flag.String("base").pipe(Flag.withDescription("The commit to compare with (default: the head's parent)"), Flag.optional),
  head: Flag.String("head").pipe(Flag.withDescription("The commit to explain (default: HEAD)"), Flag.optional),
  system: Flag.String("system").pipe(Flag.withDescription("The system whose outputs to compare (default: this machine's)"), Flag.optional),
  depth: Flag.Int("depth").pipe(
    Flag.withDescription(`How many levels of changed input derivations to look into (default ${defaultWhyOptions.depth})`),
    Flag.withDefault(defaultWhyOptions.depth)
  ),
  format: Flag.Literals("format", ["text", "json"]).pipe(
    Flag.withDescription("Print a tree of the differences, or the answer as JSON"),
    Flag.withDefault("text")
  )
}

export type WhyFlags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> | Argument.Argument<infer A> ? A : never
}
