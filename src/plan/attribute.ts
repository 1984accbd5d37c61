import { type AttrPath, showAttrPath } from "../domain/installable.ts"
import type { Output } from "../nix/FlakeEvaluation.ts"

/**
 * A standard output named as a person types it: in full (`packages.x86_64-linux.bot`),
 * without the system (`packages.bot`), or by its name alone (`bot`, the first kind
 * that has it: packages, checks, devShells, formatter, apps).
 */

// `packages.<system>.bot` is `bot`; `formatter.<system>` is `formatter`.
const shortName = (attrPath: AttrPath): string => attrPath.length === 2 ? attrPath[0]! : attrPath.at(-1)!

const matches = (output: Output, wanted: AttrPath, system: string): boolean => {
  const path = output.attrPath
  if (showAttrPath(path) === showAttrPath(wanted)) return true
  if (path[1] !== system) return false
  if (wanted.length === 1) return shortName(path) === wanted[0]
  return wanted.length === 2 && path.length === 3 && path[0] === wanted[0] && path[2] === wanted[1]
}

/** The first output, of those given in the flake's order, that `wanted` names. */
export const findOutput = (outputs: ReadonlyArray<Output>, wanted: AttrPath, system: string): Output | undefined =>
  outputs.find((output) => matches(output, wanted, system))

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The name closest to what was typed, by edit distance; undefined when there are none. */
export const nearestName = (names: ReadonlyArray<string>, typed: string): string | undefined => {
  let best: { name: string; distance: number } | undefined
  for (const name of names) {
    const distance = editDistance(typed, name)
    if (best === undefined || distance < best.distance) best = { name, distance }
  }
  return best?.name
}

/** The output whose name or attribute path is closest to what was typed. */
export const nearestOutput = (outputs: ReadonlyArray<Output>, typed: string): Output | undefined => {
  let best: { output: Output; distance: number } | undefined
  for (const output of outputs) {
    // Each form a person may type: in full, without the system, by name.
    const name = shortName(output.attrPath)
    const forms = [showAttrPath(output.attrPath), `${output.attrPath[0]}.${name}`, name]
    const distance = Math.min(...forms.map((form) => editDistance(typed, form)))
    if (best === undefined || distance < best.distance) best = { output, distance }
  }
  return best?.output
}
