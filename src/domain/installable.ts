import { Schema } from "effect"
import { unmeantCharacter } from "./names.ts"

/**
 * Attribute paths as Nix reads them on a command line: `packages.x86_64-linux.bot`,
 * with a segment quoted (`packages.x86_64-linux."bot.v2"`) when it holds a dot.
 */

/** An attribute path, each segment as Nix names it: `["packages", "x86_64-linux", "bot"]`. */
export const AttrPath = Schema.Array(Schema.String).pipe(Schema.check(Schema.isMinLength(1)))
export type AttrPath = typeof AttrPath.Type

/**
 * Segments an installable cannot carry: a double quote cannot be escaped in one, and
 * a character no one means in a name (`names.ts`) is refused wherever names are.
 */
export const unrepresentableSegment = (attrPath: AttrPath): string | undefined =>
  attrPath.find((segment) => segment.includes(`"`) || segment === "" || unmeantCharacter(segment) !== undefined)

const showSegment = (segment: string): string => (segment.includes(".") ? `"${segment}"` : segment)

/** The attribute path as written after `#`; also the key identifying an output. */
export const showAttrPath = (attrPath: AttrPath): string => attrPath.map(showSegment).join(".")

/**
 * The installable for an attribute path of the flake at `flakeDir`, relative to the
 * repository root that Buildkite steps run in (`.#…` for a flake at the root).
 */
export const installable = (flakeDir: string, attrPath: AttrPath): string =>
  `${flakeDir === "." ? "." : `./${flakeDir}`}#${showAttrPath(attrPath)}`

export interface FlakeInstallable {
  /** As given, for messages. */
  readonly text: string
  /** The part before `#`: `.`, `./infra`, `github:owner/repo`. */
  readonly flakeRef: string
  readonly attrPath: AttrPath
}

/** Split `.#packages.x86_64-linux."a.b"` into its flake reference and attribute path. */
export const parseInstallable = (text: string): FlakeInstallable | undefined => {
  const hash = text.indexOf("#")
  if (hash <= 0) return undefined
  const segments: Array<string> = []
  let current = ""
  let quoted = false
  for (const char of text.slice(hash + 1)) {
    if (char === `"`) quoted = !quoted
    else if (char === "." && !quoted) {
      segments.push(current)
      current = ""
    } else current += char
  }
  segments.push(current)
  if (quoted || segments.some((segment) => segment === "")) return undefined
  return { text, flakeRef: text.slice(0, hash), attrPath: segments }
}

const standardOutputs = ["packages", "checks", "devShells", "apps", "formatter"]

/**
 * The system of a result's target (`packages.<system>.bot`, or an installable such as
 * `.#apps.<system>.deploy`) when it is a standard output; undefined for anything else.
 */
export const systemOf = (target: string): string | undefined => {
  for (const parsed of [parseInstallable(`.#${target}`), parseInstallable(target)]) {
    const attrPath = parsed?.attrPath
    if (attrPath !== undefined && attrPath.length >= 2 && standardOutputs.includes(attrPath[0]!)) return attrPath[1]
  }
  return undefined
}

/**
 * Items grouped by system, in the order each system first appears: one group with
 * system undefined when they name fewer than two systems (items of no known system
 * aside), so a one-system list stays as it was.
 */
export const bySystem = <A>(items: ReadonlyArray<A>, systemOfItem: (item: A) => string | undefined): ReadonlyArray<{ readonly system: string | undefined; readonly items: ReadonlyArray<A> }> => {
  const groups = new Map<string | undefined, Array<A>>()
  for (const item of items) {
    const system = systemOfItem(item)
    const group = groups.get(system)
    if (group === undefined) groups.set(system, [item])
    else group.push(item)
  }
  const named = [...groups.keys()].filter((system) => system !== undefined)
  return named.length < 2 ? [{ system: undefined, items }] : [...groups].map(([system, grouped]) => ({ system, items: grouped }))
}
