import { Duration, Effect, Option, Redacted, Result } from "effect"
import { PlanInputError } from "../../domain/errors.ts"
import { metaDataKeys } from "../../domain/metaData.ts"
import type { BuildFilter, PipelineRef } from "../../effects/BuildkiteApi.ts"
import { type BuildkiteEnvironment, pullRequestOf } from "../../effects/BuildkiteEnvironment.ts"
import { Git } from "../../effects/Git.ts"
import type { Action } from "../../nix/FlakeEvaluation.ts"
import { compileFullMatch } from "../../plan/posixRegex.ts"

/**
 * Which commit a plan compares with, and why that one (docs/architecture.md, "The
 * base"). `--base` wins; a pull request compares with its merge-base; a tag build
 * with the previous tag matching the actions' tag patterns; a branch build with
 * its last passed build (Buildkite's REST API); else the previous commit. A
 * deploying action's `changed` compares with its last passed deploy. Nothing here
 * fails the plan: each fallback is a warning or a reason in the choice.
 */

/** A commit to evaluate and why it was chosen, or why there is none. */
export type BaseCommit =
  | { readonly _tag: "Found"; readonly sha: string; readonly choice: string }
  | { readonly _tag: "Unavailable"; readonly sha: undefined; readonly reason: string; readonly choice: string }

/** What every choice reads: the checkout and the build. */
export interface BaseContext {
  readonly repository: string
  readonly shallow: boolean
  readonly head: string
  readonly environment: BuildkiteEnvironment
  /** `--base`, as given and resolved. */
  readonly requested: Option.Option<readonly [string, Option.Option<string>]>
  readonly previous: Option.Option<string>
  readonly branch: string | undefined
  readonly tag: string | undefined
  /** The pipeline deploys are triggered in. */
  readonly deployPipeline: string
}

/** A choice and the warnings the fallbacks on the way to it gave. */
export interface Chosen {
  readonly commit: BaseCommit
  readonly warnings: ReadonlyArray<string>
}

const short = (sha: string) => sha.slice(0, 12)
const quote = JSON.stringify
const found = (sha: string, choice: string): BaseCommit => ({ _tag: "Found", sha, choice })
const unavailable = (reason: string, choice = reason): BaseCommit => ({ _tag: "Unavailable", sha: undefined, reason, choice })

/** A search that found a commit, or the reason it did not, and whether that reason is a warning. */
type Search =
  | { readonly _tag: "Found"; readonly sha: string; readonly choice: string }
  /** `none`: the search worked and found nothing. */
  | { readonly _tag: "Missed"; readonly reason: string; readonly warn: boolean; readonly none: boolean }
const hit = (sha: string, choice: string): Search => ({ _tag: "Found", sha, choice })
const missed = (reason: string, options: { readonly warn?: boolean; readonly none?: boolean } = {}): Search => ({
  _tag: "Missed",
  reason,
  warn: options.warn ?? false,
  none: options.none ?? false
})

/** The builds' base; `patterns` are the actions' tag patterns once head is evaluated (a tag build's base depends on them). */
export const chooseBase = Effect.fnUntraced(function*(context: BaseContext, patterns: ReadonlyArray<string> | undefined) {
  const { head, environment } = context
  if (Option.isSome(context.requested)) {
    const [rev, sha] = context.requested.value
    // A typo, as for --head: exit 2, not "everything changed".
    if (Option.isNone(sha)) {
      return yield* new PlanInputError({
        place: "--base",
        detail: `${rev} is not a commit in ${context.repository}${context.shallow ? " (a shallow clone: fetch it, or deepen the clone)" : ""}`
      })
    }
    return { commit: found(sha.value, `--base ${rev}`), warnings: [] } satisfies Chosen
  }
  const baseBranch = environment.BUILDKITE_PULL_REQUEST_BASE_BRANCH
  if (pullRequestOf(environment) !== undefined && baseBranch !== undefined) {
    const mergeBase = yield* mergeBaseWith(context, baseBranch)
    return {
      commit: mergeBase._tag === "Found" ? found(mergeBase.sha, `the pull request's merge-base with ${quote(baseBranch)}`) : unavailable(mergeBase.reason),
      warnings: []
    } satisfies Chosen
  }
  const search = context.tag !== undefined ? yield* previousTag(context, patterns) : yield* lastPassedBuild(context)
  if (search._tag === "Found") return { commit: found(search.sha, search.choice), warnings: [] } satisfies Chosen
  const warnings = search.warn ? [search.reason] : []
  const because = ` (${search.reason})`
  if (Option.isSome(context.previous)) return { commit: found(context.previous.value, `the previous commit${because}`), warnings } satisfies Chosen
  const none = context.shallow
    ? `the previous commit of ${short(head)} is not in this shallow clone`
    : `${short(head)} is the first commit`
  return { commit: unavailable(none, `${none}${because}`), warnings } satisfies Chosen
})

/**
 * The base each action's `changed` condition uses where it is not the builds' base:
 * a deploying action's last passed deploy; on a tag build, the previous tag matching
 * the action's own pattern.
 */
export const chooseActionBases = Effect.fnUntraced(function*(
  context: BaseContext,
  actions: ReadonlyArray<readonly [string, Action]>,
  builds: BaseCommit
) {
  if (Option.isSome(context.requested) || pullRequestOf(context.environment) !== undefined) return { bases: new Map<string, BaseCommit>(), warnings: [] }
  const warnings: Array<string> = []
  const bases = new Map<string, BaseCommit>()
  const relevant = actions.filter(([, action]) => action.conditions.some((condition) => condition.kind === "changed"))
  const chosen = yield* Effect.forEach(relevant, ([name, action]) =>
    Effect.gen(function*() {
      const reasons: Array<string> = []
      if (action.deploySteps.length > 0) {
        const deploy = yield* lastPassedDeploy(context, name)
        if (deploy._tag === "Found") return [name, found(deploy.sha, deploy.choice)] as const
        if (deploy.warn) warnings.push(deploy.reason)
        reasons.push(deploy.reason)
      }
      const tagPatterns = tagPatternsOf([[name, action]])
      if (context.tag !== undefined && tagPatterns.length > 0) {
        const tag = yield* previousTag(context, tagPatterns)
        if (tag._tag === "Found") return [name, found(tag.sha, reasons.length === 0 ? tag.choice : `${tag.choice} (${reasons.join("; ")})`)] as const
        reasons.push(tag.reason)
      }
      if (reasons.length === 0) return undefined
      const because = reasons.join("; ")
      return [name, builds._tag === "Found" ? found(builds.sha, `the builds' base, ${builds.choice} (${because})`) : builds] as const
    }), { concurrency: 4 })
  for (const entry of chosen) if (entry !== undefined) bases.set(entry[0], entry[1])
  return { bases, warnings }
})

/** The tag patterns of the actions' `tag` conditions. */
export const tagPatternsOf = (actions: ReadonlyArray<readonly [string, Action]>): ReadonlyArray<string> =>
  actions.flatMap(([, action]) => action.conditions.flatMap((condition) => (condition.kind === "tag" ? [condition.pattern] : [])))

/** The nearest earlier tag matching one of the patterns (any tag before head is evaluated). */
const previousTag = Effect.fnUntraced(function*(context: BaseContext, patterns: ReadonlyArray<string> | undefined) {
  const git = yield* Git
  const regexes = (patterns ?? []).flatMap((pattern) => {
    const compiled = compileFullMatch(pattern)
    return Result.isSuccess(compiled) ? [[pattern, compiled.success] as const] : []
  })
  const tags = yield* git.tagsBefore(context.repository, context.head).pipe(Effect.orElseSucceed(() => []))
  const shallow = context.shallow ? " (a shallow clone)" : ""
  if (patterns === undefined) {
    const [nearest] = tags
    return nearest === undefined ? missed(`no earlier tag in this clone${shallow}`) : hit(nearest.sha, `the previous tag ${quote(nearest.tag)}`)
  }
  if (regexes.length === 0) return missed("no action has a tag condition")
  for (const { tag, sha } of tags) {
    const match = regexes.find(([, regex]) => regex.test(tag))
    if (match !== undefined) return hit(sha, `the previous tag ${quote(tag)}, matching ${quote(match[0])}`)
  }
  return missed(`no earlier tag matching ${regexes.map(([pattern]) => quote(pattern)).join(" or ")} in this clone${shallow}`)
})

const mergeBaseWith = Effect.fnUntraced(function*(context: BaseContext, branch: string) {
  const git = yield* Git
  const [remote, local] = yield* git.resolveCommits(context.repository, [`refs/remotes/origin/${branch}`, branch])
  const branchTip = Option.orElse(remote!, () => local!)
  if (Option.isNone(branchTip)) return missed(`the branch ${quote(branch)} is not fetched in this clone`)
  const mergeBase = yield* git.mergeBase(context.repository, context.head, branchTip.value)
  return Option.isSome(mergeBase)
    ? hit(mergeBase.value, `the merge-base with ${quote(branch)}`)
    : missed(`no merge-base of ${short(context.head)} and ${quote(branch)} in this clone (a shallow clone?)`)
})

/** Buildkite's REST API when the job can use it, else why not. */
const apiOf = (environment: BuildkiteEnvironment) => {
  const token = environment.CI_BUILDKITE_API_TOKEN
  if (token === undefined || Redacted.value(token) === "") return Result.fail("CI_BUILDKITE_API_TOKEN is not set")
  const organization = environment.BUILDKITE_ORGANIZATION_SLUG
  if (organization === undefined) return Result.fail("BUILDKITE_ORGANIZATION_SLUG is not set")
  return Result.succeed({ organization, url: environment.CI_BUILDKITE_API_URL ?? "https://api.buildkite.com", token })
}

/** The newest build that passes the filter, checked against this clone; any failure is a reason, never an error. */
const newestBuild = Effect.fnUntraced(function*(
  context: BaseContext,
  pipeline: string,
  filter: BuildFilter,
  what: string
) {
  const api = apiOf(context.environment)
  if (Result.isFailure(api)) return missed(`${what} is unknown: ${api.failure}`)
  const ref: PipelineRef = { organization: api.success.organization, pipeline }
  // Loaded only here: a plan that asks Buildkite nothing loads no HTTP client.
  const { BuildkiteApi } = yield* Effect.promise(() => import("../../effects/BuildkiteApi.ts"))
  const listed = yield* BuildkiteApi.use((client) => client.listBuilds(ref, { ...filter, perPage: 1 })).pipe(
    Effect.timeout(Duration.seconds(30)),
    Effect.provide(BuildkiteApi.layer({ url: api.success.url, token: api.success.token })),
    Effect.result
  )
  if (Result.isFailure(listed)) {
    const error = listed.failure
    const status = error._tag === "BuildkiteApiError" ? error.status : null
    return missed(
      status === 401 || status === 403
        ? `${what} is unknown: Buildkite refused CI_BUILDKITE_API_TOKEN (HTTP ${status}); check the token and its read_builds scope`
        : status === null
        ? `${what} is unknown: Buildkite's API could not be reached (${error.message})`
        : `${what} is unknown: ${error.message}`,
      { warn: true }
    )
  }
  const [build] = listed.success
  if (build === undefined) return missed(`no ${what.replace(/^the /, "")} yet`, { none: true })
  const named = `${what} (#${build.number}, ${short(build.commit)})`
  // Only a full sha names one commit: a build made for `HEAD` or a branch name would name this one.
  if (!/^[0-9a-f]{40}$/.test(build.commit)) return missed(`${what} (#${build.number}) has no commit sha: ${quote(build.commit)}`, { warn: true })
  const git = yield* Git
  const [inClone] = yield* git.resolveCommits(context.repository, [build.commit]).pipe(Effect.orElseSucceed(() => [Option.none<string>()]))
  if (inClone === undefined || Option.isNone(inClone)) {
    return missed(`${named} is not in this clone${context.shallow ? " (a shallow clone)" : " (force-pushed away?)"}`, { warn: true })
  }
  const ancestor = yield* git.isAncestor(context.repository, inClone.value, context.head).pipe(Effect.orElseSucceed(() => false))
  if (!ancestor) return missed(`${named} is not an ancestor of ${short(context.head)} (a force-push?)`, { warn: true })
  return hit(inClone.value, named)
})

/** A branch build's last passed build; a branch with none yet compares with its merge-base with the default branch. */
const lastPassedBuild = Effect.fnUntraced(function*(context: BaseContext) {
  const { environment, branch } = context
  if (branch === undefined) return missed("no branch to ask Buildkite about")
  const pipeline = environment.BUILDKITE_PIPELINE_SLUG
  if (pipeline === undefined) return missed(`the last passed build of ${quote(branch)} is unknown: BUILDKITE_PIPELINE_SLUG is not set`)
  const last = yield* newestBuild(context, pipeline, { branch, state: "passed" }, `the last passed build of ${quote(branch)}`)
  const defaultBranch = environment.BUILDKITE_PIPELINE_DEFAULT_BRANCH
  if (last._tag === "Found" || !last.none || defaultBranch === undefined || defaultBranch === branch) return last
  const mergeBase = yield* mergeBaseWith(context, defaultBranch)
  return mergeBase._tag === "Found" ? { ...mergeBase, choice: `${mergeBase.choice} (${last.reason})` } : missed(`${last.reason}; ${mergeBase.reason}`)
})

/** The commit of a deploying action's last passed deploy build. */
const lastPassedDeploy = (context: BaseContext, action: string) =>
  newestBuild(
    context,
    context.deployPipeline,
    { state: "passed", metaData: { [metaDataKeys.deployAction]: action } },
    `the last passed deploy of ${action}`
  )
