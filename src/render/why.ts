import { visibleText } from "../domain/names.ts"
import type { FlakeInputChange } from "../nix/flakeLock.ts"
import { type Difference, packageName, type Unexplored } from "../plan/why.ts"

/**
 * Why an output changed, for people: a tree of the differences (`tool why`), and one
 * line of its first leaves (for a plan's list of changed outputs).
 */

// Values and attribute names come from the flake: shown as written, but visibly (`names.ts`).
const quoted = (value: string) => JSON.stringify(value)

const unexploredText: Readonly<Record<Unexplored, string>> = {
  depth: "not looked into: deeper than --depth",
  limit: "not looked into: too many derivations compared already",
  repeated: "as above",
  unreadable: "its derivation could not be read"
}

const change = (difference: Difference): string => {
  const { base, head } = difference
  if (base === null) return `added ${quoted(head ?? "")}`
  if (head === null) return `removed (was ${quoted(base)})`
  return `${quoted(base)} → ${quoted(head)}`
}

// Notes in one pair of parentheses: `(flake input dep updated; as above)`.
const notes = (...texts: ReadonlyArray<string | null>) => {
  const given = texts.filter((text) => text !== null)
  return given.length === 0 ? "" : ` (${given.join("; ")})`
}
const flakeInputNote = (difference: Difference) => (difference.flakeInput === null ? null : `flake input ${difference.flakeInput} updated`)

/** One difference on one line, without what lies under it. */
export const describeDifference = (difference: Difference): string => visibleText(describe(difference))

const describe = (difference: Difference): string => {
  const at = difference.line === null ? "" : `, line ${difference.line}`
  switch (difference.kind) {
    case "system":
    case "builder":
      return `${difference.kind}: ${change(difference)}`
    case "args":
      return `args[${difference.name}]${at}: ${change(difference)}`
    case "env":
      return `${difference.name}${at}: ${change(difference)}`
    case "output":
      return `output ${difference.name} ${difference.base === null ? "added" : "removed"}`
    case "source": {
      const label = difference.attributes.length > 0 ? `${difference.attributes.join(", ")}: ` : "source "
      const what = difference.base === null ? "added" : difference.head === null ? "removed" : "changed"
      return `${label}./${difference.name} ${what}${notes(flakeInputNote(difference))}`
    }
    case "input": {
      const { base, head } = difference
      if (base === null) return `input ${head} added`
      if (head === null) return `input ${base} removed`
      if (base === head) {
        return `${base} changed${notes(flakeInputNote(difference), difference.unexplored === null ? null : unexploredText[difference.unexplored])}`
      }
      // Only the outputs it is used for changed: `lib-1.0^out` → `lib-1.0^out,dev`.
      if (base.split("^")[0] === head.split("^")[0]) return `${base.split("^")[0]}: uses outputs ${base.split("^")[1]} → ${head.split("^")[1]}`
      const before = packageName(base)
      const after = packageName(head)
      return before.name === after.name && after.version !== "" ? `${base} → ${after.version}` : `${base} → ${head}`
    }
  }
}

/** The differences as an indented tree, at most `perNode` entries under each derivation. */
export const whyTree = (differences: ReadonlyArray<Difference>, perNode = 12): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const walk = (entries: ReadonlyArray<Difference>, prefix: string) => {
    const shown = entries.slice(0, perNode)
    const hidden = entries.length - shown.length
    shown.forEach((entry, index) => {
      const last = index === shown.length - 1 && hidden === 0
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${describeDifference(entry)}`)
      walk(entry.why, `${prefix}${last ? "   " : "│  "}`)
    })
    if (hidden > 0) lines.push(`${prefix}└─ … and ${hidden} more`)
  }
  walk(differences, "")
  return lines
}

/** The leaves of the tree, each with the inputs it lies under (`lib-1.0 › version: …`). */
const leaves = (differences: ReadonlyArray<Difference>, path: ReadonlyArray<string> = []): ReadonlyArray<string> =>
  differences.flatMap((entry) =>
    entry.why.length > 0
      ? leaves(entry.why, [...path, entry.base ?? ""])
      : [[...path, describeDifference(entry)].join(" › ")]
  )

/** The first leaves on one line, for a list of changed outputs. */
export const whyLine = (differences: ReadonlyArray<Difference>, count = 3): string => {
  const all = leaves(differences)
  const shown = all.slice(0, count).join("; ")
  return all.length > count ? `${shown}; and ${all.length - count} more` : shown
}

const inputChange = ({ name, base, head }: FlakeInputChange): string => {
  if (base === null) return `${name} added`
  if (head === null) return `${name} removed`
  return base.rev !== null && head.rev !== null ? `${name} ${base.rev.slice(0, 7)} → ${head.rev.slice(0, 7)}` : `${name} updated`
}

/** `dep 42600e1 → 9abc123, nixpkgs updated`: each flake input whose lock changed. */
export const flakeInputsLine = (changes: ReadonlyArray<FlakeInputChange>): string => visibleText(changes.map(inputChange).join(", "))
