import { Effect, Option } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { Git } from "../../effects/Git.ts"
import type { Base } from "../../plan/Plan.ts"

/** Which commit a plan compares with. */

export type BaseCommit = { readonly _tag: "Found"; readonly sha: string } | Extract<Base, { _tag: "Unavailable" }>

/**
 * The base commit: `--base`, else the pull request's merge-base with its base
 * branch, else the previous commit. A --base that is not a commit is bad input;
 * a default base that is not in this clone is not: everything then counts as changed.
 */
export const chooseBase = Effect.fnUntraced(function*(
  repository: string,
  shallow: boolean,
  head: string,
  resolved: { readonly requested: Option.Option<readonly [string, Option.Option<string>]>; readonly previous: Option.Option<string> },
  environment: BuildkiteEnvironment
) {
  const git = yield* Git
  const unavailable = (reason: string): BaseCommit => ({ _tag: "Unavailable", sha: undefined, reason })
  const found = (sha: string): BaseCommit => ({ _tag: "Found", sha })
  if (Option.isSome(resolved.requested)) {
    const [rev, sha] = resolved.requested.value
    // A typo, as for --head: exit 2, not "everything changed".
    if (Option.isNone(sha)) {
      return yield* new PlanInputError({
        place: "--base",
        detail: `${rev} is not a commit in ${repository}${shallow ? " (a shallow clone: fetch it, or deepen the clone)" : ""}`
      })
    }
    return found(sha.value)
  }
  const baseBranch = environment.BUILDKITE_PULL_REQUEST_BASE_BRANCH
  if (pullRequestOf(environment) !== undefined && baseBranch !== undefined) {
    const [remote, local] = yield* git.resolveCommits(repository, [`refs/remotes/origin/${baseBranch}`, baseBranch])
    const branchTip = Option.orElse(remote!, () => local!)
    if (Option.isNone(branchTip)) return unavailable(`the pull request's base branch ${baseBranch} is not fetched in this clone`)
    const mergeBase = yield* git.mergeBase(repository, head, branchTip.value)
    return Option.isSome(mergeBase)
      ? found(mergeBase.value)
      : unavailable(`no merge-base of ${head.slice(0, 12)} and ${baseBranch} in this clone (a shallow clone?)`)
  }
  if (Option.isSome(resolved.previous)) return found(resolved.previous.value)
  return shallow
    ? unavailable(`the previous commit of ${head.slice(0, 12)} is not in this shallow clone`)
    : unavailable(`${head.slice(0, 12)} is the first commit`)
})
