import { Effect, Option, Path } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import type { BuildkiteEnvironment } from "../../effects/BuildkiteEnvironment.ts"
import { Git } from "../../effects/Git.ts"
import type { FlakeSource } from "../../nix/flakeRef.ts"
import type { PlanFlags } from "./flags.ts"

/** What `tool plan` reads of the checkout: the commit to plan, and where the flake is in it. */

/** The revision to plan, and where it was given. */
export const headRevOf = (flagsIn: PlanFlags, environment: BuildkiteEnvironment) => ({
  rev: Option.getOrUndefined(flagsIn.head) ?? environment.BUILDKITE_COMMIT ?? "HEAD",
  place: Option.isSome(flagsIn.head) ? "--head" : environment.BUILDKITE_COMMIT === undefined ? "HEAD" : "BUILDKITE_COMMIT"
})

/** The commit to plan and the flake's place in its checkout; `extraRevs` resolved alongside. */
export const checkoutOf = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment, extraRevs: ReadonlyArray<string>) {
  const git = yield* Git
  const path = yield* Path.Path
  const flakePath = path.resolve(flagsIn.flake)
  const headRev = headRevOf(flagsIn, environment)
  const [checkout, [headSha, ...resolved]] = yield* Effect.all([
    git.inspect(flakePath).pipe(
      Effect.mapError((error) => new PlanInputError({ place: "--flake", detail: `${flakePath} is not in a git checkout (${error.reason.trim()})` }))
    ),
    git.resolveCommits(flakePath, [headRev.rev, ...extraRevs])
  ], { concurrency: "unbounded" })
  const repository = checkout.toplevel
  const head = yield* Effect.fromOption(
    headSha!,
    () => new PlanInputError({ place: headRev.place, detail: `${headRev.rev} is not a commit in ${repository}` })
  )
  const flakeDir = path.relative(repository, flakePath) || "."
  const source = (rev: string): FlakeSource => ({ repository, flakeDir, rev, shallow: checkout.shallow })
  return { repository, shallow: checkout.shallow, head, flakeDir, source, resolved }
})
