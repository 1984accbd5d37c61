import { Flag } from "effect/cli"
import { flags as planFlags } from "../plan/flags.ts"

/** `tool run`'s flags (`tool watch` takes some of them). */

export const flags = {
  flake: planFlags.flake,
  head: Flag.String("head").pipe(
    Flag.withDescription("Plan this commit instead of the work tree (the pre-push hook gives the pushed commit)"),
    Flag.optional
  ),
  base: Flag.String("base").pipe(
    Flag.withDescription("The commit to compare with (default: the merge-base with the branch's upstream, else HEAD)"),
    Flag.optional
  ),
  system: planFlags.system,
  branch: planFlags.branch,
  tag: planFlags.tag,
  deploy: Flag.Boolean("deploy").pipe(Flag.withDescription("Also run the triggered actions' deploy steps, in order"), Flag.withDefault(false)),
  yes: Flag.Boolean("yes").pipe(Flag.withDescription("Continue past every block step without asking"), Flag.withDefault(false)),
  jobs: Flag.Int("jobs").pipe(Flag.withDescription("How many checks run at once"), Flag.withDefault(4)),
  printBuildLogs: Flag.Boolean("print-build-logs").pipe(
    Flag.withAlias("L"),
    Flag.withDescription("Print the build's and the checks' logs as they come, as nix build -L does"),
    Flag.withDefault(false)
  )
}

export type RunFlags = { readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never }
