import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { unmeantCharacter } from "../domain/names.ts"
import { nearestName } from "./attribute.ts"

/**
 * Actions a build forces: `CI_ACTIONS=deployBot,other` (or `all`) in the build's
 * environment, as a manual build or an API call sets it, and `[ci deploy deployBot]`
 * (or `[ci deploy all]`) in a commit message between base and head. A forced action's
 * `changed` conditions hold; every other condition still applies, and a pull request
 * still never deploys.
 */

/** A commit between base and head, as `Git.messagesBetween` reads it. */
export interface CommitMessage {
  readonly sha: string
  readonly message: string
}

/** One request to force actions, and where it came from (`CI_ACTIONS`, `commit 0123456789ab`). */
export interface ForceRequest {
  readonly by: string
  readonly names: ReadonlyArray<string>
}

const splitNames = (text: string): ReadonlyArray<string> =>
  text.split(/[,\s]+/).filter((name) => name !== "")

// Anything up to the closing bracket, so a misspelt or hostile name is seen and refused.
const directive = /\[ci deploy(?:\s([^\]]*))?\]/g

/** The requests `CI_ACTIONS` and the commits' directives make, in that order. */
export const forceRequests = (
  ciActions: string | undefined,
  commits: ReadonlyArray<CommitMessage>
): ReadonlyArray<ForceRequest> => {
  const requests: Array<ForceRequest> = []
  if (ciActions !== undefined && splitNames(ciActions).length > 0) requests.push({ by: "CI_ACTIONS", names: splitNames(ciActions) })
  for (const commit of commits) {
    const names = [...commit.message.matchAll(directive)].flatMap((match) => splitNames(match[1] ?? ""))
    if (names.length > 0) requests.push({ by: `commit ${commit.sha.slice(0, 12)}`, names })
  }
  return requests
}

// A name is shown as JSON, with what JSON leaves raw but a terminal would not show escaped.
const show = (name: string): string =>
  JSON.stringify(name).replace(/[\u0080-\uffff]/g, (char) => unmeantCharacter(char) === undefined ? char : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * Which action each request forces, and by what (the first request that names it).
 * A name that is no action is an error at the request's place, with the nearest action.
 */
export const resolveForced = (
  requests: ReadonlyArray<ForceRequest>,
  actions: ReadonlyArray<string>
): Result.Result<ReadonlyMap<string, string>, PlanInputError> => {
  const forced = new Map<string, string>()
  for (const request of requests) {
    for (const name of request.names) {
      if (name === "all") {
        for (const action of actions) if (!forced.has(action)) forced.set(action, request.by)
      } else if (actions.includes(name)) {
        if (!forced.has(name)) forced.set(name, request.by)
      } else {
        const nearest = nearestName(actions, name)
        return Result.fail(
          new PlanInputError({
            place: request.by,
            detail: `${show(name)} is not an action${
              nearest === undefined ? " (the flake declares none)" : `; did you mean ${JSON.stringify(nearest)}?`
            } (names: ${actions.length === 0 ? "none" : actions.join(", ")}, or all)`
          })
        )
      }
    }
  }
  return Result.succeed(forced)
}
