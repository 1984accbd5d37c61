import { Effect, FileSystem, Option, Path } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { type BuildkiteEnvironment, inBuildkite } from "../../effects/BuildkiteEnvironment.ts"
import { Git } from "../../effects/Git.ts"
import type { FlakeSource } from "../../nix/flakeRef.ts"
import type { RefContext } from "../../plan/conditions.ts"
import type { PlanFlags } from "./flags.ts"

/** What `tool plan` reads of the checkout: the commit to plan, where the flake is in it, the refs. */

/** Nix reads a flake from git, so a flake outside a checkout cannot be planned; git's own words add nothing. */
export const notInGit = (flakePath: string) =>
  new PlanInputError({ place: "--flake", detail: `${flakePath} is not in a git checkout: Nix reads a flake from git (git init, git add --all, git commit)` })

/** The revision to plan, and where it was given. */
export const headRevOf = (flagsIn: PlanFlags, environment: BuildkiteEnvironment) => ({
  rev: Option.getOrUndefined(flagsIn.head) ?? environment.BUILDKITE_COMMIT ?? "HEAD",
  place: Option.isSome(flagsIn.head) ? "--head" : environment.BUILDKITE_COMMIT === undefined ? "HEAD" : "BUILDKITE_COMMIT"
})

/** The commit to plan and the flake's place in its checkout; `extraRevs` resolved alongside. */
export const checkoutOf = Effect.fnUntraced(function*(flagsIn: PlanFlags, environment: BuildkiteEnvironment, extraRevs: ReadonlyArray<string>) {
  const git = yield* Git
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const flakePath = path.resolve(flagsIn.flake)
  const headRev = headRevOf(flagsIn, environment)
  const [checkout, [headSha, ...resolved], hasFlake] = yield* Effect.all([
    git.inspect(flakePath).pipe(Effect.mapError(() => notInGit(flakePath))),
    git.resolveCommits(flakePath, [headRev.rev, ...extraRevs]).pipe(Effect.mapError(() => notInGit(flakePath))),
    fs.exists(path.join(flakePath, "flake.nix")).pipe(Effect.orElseSucceed(() => false))
  ], { concurrency: "unbounded" })
  if (!hasFlake) {
    return yield* new PlanInputError({ place: "--flake", detail: `there is no flake.nix in ${flakePath}: give the flake's directory with --flake` })
  }
  const repository = checkout.toplevel
  const head = yield* Effect.fromOption(
    headSha!,
    () =>
      new PlanInputError({
        place: headRev.place,
        detail: headRev.place === "HEAD"
          ? `${repository} has no commit yet: commit the flake first (git add --all && git commit), since Nix reads a flake from git`
          : `${headRev.rev} is not a commit in ${repository}`
      })
  )
  const flakeDir = path.relative(repository, flakePath) || "."
  const source = (rev: string): FlakeSource => ({ repository, flakeDir, rev, shallow: checkout.shallow })
  return { repository, shallow: checkout.shallow, head, flakeDir, source, resolved }
})

/**
 * Where the build stands, for the conditions: its branch and tag, and on a tag
 * build the remote branches whose tip holds the commit; and whether the work tree
 * has uncommitted changes. Git is asked only what this run will use: in Buildkite
 * the branch is given and the tree is clean.
 */
export const readRefs = Effect.fnUntraced(function*(
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment,
  repository: string,
  head: string
) {
  const git = yield* Git
  const tag = Option.getOrUndefined(flagsIn.tag) ?? environment.BUILDKITE_TAG
  const [remoteBranches, localBranch, dirty] = yield* Effect.all([
    tag === undefined
      ? Effect.succeed([])
      : git.remoteBranchesContaining(repository, head).pipe(
        // Planning a tag locally with --branch: the commit counts as on that branch.
        Effect.map((branches) => Option.match(flagsIn.branch, { onNone: () => branches, onSome: (branch) => [...branches, branch] }))
      ),
    Option.isSome(flagsIn.branch) || environment.BUILDKITE_BRANCH !== undefined
      ? Effect.succeed(Option.none<string>())
      : git.currentBranch(repository),
    inBuildkite(environment) || Option.isSome(flagsIn.head) ? Effect.succeed(false) : git.isDirty(repository)
  ], { concurrency: "unbounded" })
  const branch = Option.getOrUndefined(flagsIn.branch) ?? environment.BUILDKITE_BRANCH ?? Option.getOrUndefined(localBranch)
  const refs: RefContext = { branch, tag, remoteBranches, source: environment.BUILDKITE_SOURCE, schedule: environment.CI_SCHEDULE }
  return { refs, dirty }
})
