import { showAttrPath } from "../domain/installable.ts"
import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import type { Condition } from "../nix/FlakeEvaluation.ts"
import { compileFullMatch } from "./posixRegex.ts"

/** Where the build stands: what a condition is judged against. */
export interface RefContext {
  /** Buildkite's branch; on a tag build Buildkite sets it to the tag's name. */
  readonly branch: string | undefined
  readonly tag: string | undefined
  /** Remote branches whose tip contains the head commit: what `branch` means on a tag build. */
  readonly remoteBranches: ReadonlyArray<string>
}

export interface ConditionResult {
  readonly kind: Condition["kind"]
  readonly ok: boolean
  readonly detail: string
  /** Where the condition is declared, for example `ciActions.deployBot.conditions[1]`. */
  readonly path: string
}

/** What `changed` conditions are judged against. */
export interface ChangeLookup {
  isChanged(attrPathKey: string): boolean
  /** Set when the base could not be evaluated, so everything counts as changed. */
  readonly everythingChangedBecause: string | undefined
}

const quote = JSON.stringify

/** A pattern as written in flake.nix (`v[0-9]+\..*`), unless it holds what only JSON's escapes show safely. */
export const shownPattern = (pattern: string): string => (/^[\x20-\x7e]*$/.test(pattern) && !pattern.includes("`") ? `\`${pattern}\`` : quote(pattern))

/** Whether the condition holds, and why; a pattern that is not one is an error at the condition's place. */
export const evaluateCondition = (
  condition: Condition,
  refs: RefContext,
  changes: ChangeLookup
): Result.Result<ConditionResult, PlanInputError> => Result.gen(function*() {
  const result = (ok: boolean, detail: string): ConditionResult => ({ kind: condition.kind, ok, detail, path: condition.path })
  const fullMatch = (pattern: string) =>
    Result.mapError(compileFullMatch(pattern), (detail) => new PlanInputError({ place: condition.path, detail }))
  switch (condition.kind) {
    case "tag": {
      if (refs.tag === undefined) return result(false, `not a tag build (tag must match ${shownPattern(condition.pattern)})`)
      const ok = (yield* fullMatch(condition.pattern)).test(refs.tag)
      return result(ok, `tag ${quote(refs.tag)} ${ok ? "matches" : "does not match"} ${shownPattern(condition.pattern)}`)
    }
    case "branch": {
      const regex = yield* fullMatch(condition.pattern)
      if (refs.tag !== undefined) {
        const matching = refs.remoteBranches.filter((branch) => regex.test(branch))
        if (matching.length > 0) {
          return result(true, `tag build: the commit is on remote branch ${quote(matching[0]!)}, which matches ${shownPattern(condition.pattern)}`)
        }
        const on = refs.remoteBranches.length === 0 ? "no fetched remote branch" : `only ${refs.remoteBranches.map((branch) => quote(branch)).join(", ")}`
        return result(false, `tag build: the commit is on ${on}, none matching ${shownPattern(condition.pattern)}`)
      }
      if (refs.branch === undefined) return result(false, `no branch (detached HEAD); branch must match ${shownPattern(condition.pattern)}`)
      const ok = regex.test(refs.branch)
      return result(ok, `branch ${quote(refs.branch)} ${ok ? "matches" : "does not match"} ${shownPattern(condition.pattern)}`)
    }
    case "changed": {
      const keys = condition.targets.map(showAttrPath)
      if (changes.everythingChangedBecause !== undefined) {
        return result(true, `everything counts as changed: ${changes.everythingChangedBecause}`)
      }
      const changed = keys.filter((key) => changes.isChanged(key))
      return changed.length > 0
        ? result(true, `${changed.join(", ")} changed`)
        : result(false, `${keys.join(", ")} unchanged`)
    }
  }
})
