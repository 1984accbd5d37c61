import { Effect, Option, Schema } from "effect"
import type { Derivation } from "../nix/derivation.ts"
import type { FlakeInputChange } from "../nix/flakeLock.ts"

/**
 * Why an output changed: the first differences between its derivation at base and
 * at head. Two derivations are compared field by field; an input derivation that
 * differs is compared in turn, breadth first, within a depth and a count, and what
 * is left are the leaves: an environment attribute, an argument, the builder or
 * system, an output, a source, an input renamed, added or removed.
 *
 * Store paths in values are compared without their hashes: a path that differs only
 * because something it was built from differs is a consequence, explained where the
 * walk finds its cause. Pure: derivations are read through the `read` it is given.
 */

export type DifferenceKind = "system" | "builder" | "args" | "env" | "output" | "source" | "input"

/** Why an input derivation that differs was not looked into. */
export type Unexplored = "depth" | "limit" | "repeated" | "unreadable"

/**
 * One difference. Every key is always present (null or empty when it does not
 * apply), so the JSON has one shape.
 */
export interface Difference {
  readonly kind: DifferenceKind
  /**
   * env: the attribute; args: the index of the first argument that differs; output:
   * the output; source: the source's name (`bot` for `./bot`); input: the input
   * derivation's name without its version (`openssl`); system, builder: null.
   */
  readonly name: string | null
  /**
   * The value at base and at head, short: at most a line and about 80 characters,
   * store hashes elided. Null when absent on that side (added or removed). An input
   * shows its derivation's name (`openssl-3.0.1`), with `^out,dev` when only the
   * outputs it is used for changed; a source its whole store path, to compare.
   */
  readonly base: string | null
  readonly head: string | null
  /** For a multi-line value: the 1-based line that first differs, which base and head show. */
  readonly line: number | null
  /** A source: the environment attributes whose value is its path (`src`). */
  readonly attributes: ReadonlyArray<string>
  /** The locked flake input this comes from, when its store path says so. */
  readonly flakeInput: string | null
  /** An input derivation that differs: what differs inside it. */
  readonly why: ReadonlyArray<Difference>
  /** An input derivation that differs but was not looked into, and why. */
  readonly unexplored: Unexplored | null
}

/** What the plan asks about: a changed output's derivation at base and at head. */
export interface WhyRequest {
  readonly attrPath: string
  /** The store derivation at base; null when the output is new or did not evaluate there. */
  readonly base: string | null
  /** The store derivation at head; null when it did not evaluate there. */
  readonly head: string | null
}

export interface OutputWhy extends WhyRequest {
  readonly why: ReadonlyArray<Difference>
  /** Why nothing could be compared: a side missing, or a derivation unreadable. Null otherwise. */
  readonly error: string | null
}

export interface WhyOptions {
  /** How many levels of input derivations to look into (0: only the output's own). */
  readonly depth: number
  /** How many derivation pairs to compare per output, the output's own included. */
  readonly limit: number
  readonly flakeInputs: ReadonlyArray<FlakeInputChange>
}

export const defaultWhyOptions: WhyOptions = { depth: 5, limit: 50, flakeInputs: [] }

const storeDirOf = (storePath: string): string => storePath.slice(0, storePath.lastIndexOf("/"))

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

// Store path names: Nix allows letters, digits and +-._?= (libstore/path.cc).
const storePathPattern = (storeDir: string) => new RegExp(`${escapeRegExp(storeDir)}/[0-9a-z]{32}-([A-Za-z0-9+\\-._?=]+)`, "g")

/** The name of a store path: `/nix/store/<hash>-lib-1.0.drv` → `lib-1.0.drv`. */
export const storePathName = (storePath: string): string => storePath.slice(storePath.lastIndexOf("/") + 1).replace(/^[0-9a-z]{32}-/, "")

const drvName = (drvPath: string): string => storePathName(drvPath).replace(/\.drv$/, "")

/**
 * A derivation name's package name, as `builtins.parseDrvName` splits it: the
 * version starts at the first `-` not followed by a letter.
 */
export const packageName = (name: string): { readonly name: string; readonly version: string } => {
  const split = /-[^A-Za-z]/.exec(name)
  return split === null ? { name, version: "" } : { name: name.slice(0, split.index), version: name.slice(split.index + 1) }
}

const difference = (
  kind: DifferenceKind,
  name: string | null,
  base: string | null,
  head: string | null,
  extra: Partial<Difference> = {}
): Difference => ({
  kind,
  name,
  base,
  head,
  line: null,
  attributes: [],
  flakeInput: null,
  why: [],
  unexplored: null,
  ...extra
})

const maxShown = 80

/**
 * The part of two differing values to show: the first line that differs, and
 * within a long line a window starting a little before the first difference.
 */
const shownValues = (
  base: string | null,
  head: string | null,
  masked: (value: string) => string,
  elided: (value: string) => string
): { base: string | null; head: string | null; line: number | null } => {
  let line: number | null = null
  // A multi-line value added or removed: its first line.
  const opening = (value: string) => (value.includes("\n") ? `${value.slice(0, value.indexOf("\n"))}…` : value)
  let before = base === null ? null : head === null ? opening(elided(base)) : elided(base)
  let after = head === null ? null : base === null ? opening(elided(head)) : elided(head)
  if (before !== null && after !== null && (before.includes("\n") || after.includes("\n"))) {
    const baseLines = before.split("\n")
    const headLines = after.split("\n")
    let index = 0
    while (index < Math.max(baseLines.length, headLines.length) && masked(baseLines[index] ?? "") === masked(headLines[index] ?? "")) index++
    line = index + 1
    before = baseLines[index] ?? null
    after = headLines[index] ?? null
  }
  let common = 0
  if (before !== null && after !== null) {
    while (common < before.length && common < after.length && before[common] === after[common]) common++
  }
  const longest = Math.max(before?.length ?? 0, after?.length ?? 0)
  const start = longest <= maxShown ? 0 : Math.max(0, Math.min(common - 20, longest - maxShown))
  const cut = (value: string | null): string | null =>
    value === null ? null : `${start > 0 ? "…" : ""}${value.slice(start, start + maxShown)}${start + maxShown < value.length ? "…" : ""}`
  return { base: cut(before), head: cut(after), line }
}

interface Comparison {
  readonly differences: Array<Difference>
  /** Input derivations of the same name whose paths differ: the pairs to look into. */
  readonly pairs: Array<{ readonly name: string; readonly base: string; readonly head: string }>
}

const decodeStructuredAttributes = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Record(Schema.String, Schema.Unknown)))

/** Structured-attributes derivations keep their attributes as one JSON document in `__json`. */
const attributesOf = (derivation: Derivation): Readonly<Record<string, string>> => {
  const { __json: json, ...rest } = derivation.env
  if (json === undefined) return derivation.env
  return Option.match(decodeStructuredAttributes(json), {
    onNone: () => derivation.env,
    onSome: (attributes) => ({
      ...rest,
      ...Object.fromEntries(
        Object.entries(attributes).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)])
      )
    })
  })
}

const groupBy = <A>(items: Iterable<A>, key: (item: A) => string): Map<string, Array<A>> => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

const byName = (a: Difference, b: Difference) => (a.name ?? "").localeCompare(b.name ?? "")

/** The differences between two derivations themselves, and the input pairs that explain more. */
export const compareDerivations = (
  base: Derivation,
  head: Derivation,
  storeDir: string,
  flakeInputs: ReadonlyArray<FlakeInputChange>
): Comparison => {
  const pattern = storePathPattern(storeDir)
  const masked = (value: string) => value.replace(pattern, `${storeDir}/…`)
  const elided = (value: string) => value.replace(pattern, `${storeDir}/…-$1`)
  const valueDifference = (kind: DifferenceKind, name: string | null, before: string | null, after: string | null) => {
    const shown = shownValues(before, after, masked, elided)
    return difference(kind, name, shown.base, shown.head, { line: shown.line })
  }
  const differences: Array<Difference> = []

  if (base.system !== head.system) differences.push(difference("system", null, base.system, head.system))
  if (masked(base.builder) !== masked(head.builder)) differences.push(valueDifference("builder", null, base.builder, head.builder))
  const argsCount = Math.max(base.args.length, head.args.length)
  for (let index = 0; index < argsCount; index++) {
    const before = base.args[index] ?? null
    const after = head.args[index] ?? null
    if (before === null || after === null || masked(before) !== masked(after)) {
      differences.push(valueDifference("args", String(index), before, after))
      break
    }
  }

  const baseOutputs = Object.keys(base.outputs)
  const headOutputs = Object.keys(head.outputs)
  const outputsChanged = baseOutputs.join(" ") !== headOutputs.join(" ")
  for (const output of baseOutputs) if (!(output in head.outputs)) differences.push(difference("output", output, output, null))
  for (const output of headOutputs) if (!(output in base.outputs)) differences.push(difference("output", output, null, output))

  const baseEnv = attributesOf(base)
  const headEnv = attributesOf(head)
  const envDifferences: Array<Difference> = []
  for (const key of new Set([...Object.keys(baseEnv), ...Object.keys(headEnv)])) {
    const before = baseEnv[key] ?? null
    const after = headEnv[key] ?? null
    if (before !== null && after !== null && masked(before) === masked(after)) continue
    // Said already by the outputs added or removed.
    if (key === "outputs" && outputsChanged) continue
    // `name` is `pname-version`: a changed version says it.
    if (key === "name" && before !== null && after !== null) {
      const versions = [baseEnv.version, headEnv.version]
      if (versions[0] !== undefined && versions[1] !== undefined && versions[0] !== versions[1] && versions[0] !== "") {
        if (before.replace(versions[0], versions[1]) === after) continue
      }
    }
    envDifferences.push(valueDifference("env", key, before, after))
  }
  differences.push(...envDifferences.sort(byName))

  // Sources: paired by name; one of a name on each side is a change, the rest added or removed.
  const inputOf = (side: "base" | "head", storePath: string) =>
    flakeInputs.find((input) => input[side]?.storePath === storePath)?.name ?? null
  const attributesNaming = (env: Readonly<Record<string, string>>, storePath: string) =>
    Object.keys(env).filter((key) => env[key] === storePath).sort()
  const baseSources = groupBy(base.inputSrcs.filter((source) => !head.inputSrcs.includes(source)), storePathName)
  const headSources = groupBy(head.inputSrcs.filter((source) => !base.inputSrcs.includes(source)), storePathName)
  const sourceDifferences: Array<Difference> = []
  for (const name of new Set([...baseSources.keys(), ...headSources.keys()])) {
    const before = baseSources.get(name) ?? []
    const after = headSources.get(name) ?? []
    const source = (beforePath: string | null, afterPath: string | null) =>
      difference("source", name, beforePath, afterPath, {
        attributes: [
          ...new Set([
            ...(beforePath === null ? [] : attributesNaming(baseEnv, beforePath)),
            ...(afterPath === null ? [] : attributesNaming(headEnv, afterPath))
          ])
        ].sort(),
        flakeInput: (afterPath === null ? null : inputOf("head", afterPath)) ?? (beforePath === null ? null : inputOf("base", beforePath))
      })
    if (before.length === 1 && after.length === 1) sourceDifferences.push(source(before[0]!, after[0]!))
    else {
      for (const path of before) sourceDifferences.push(source(path, null))
      for (const path of after) sourceDifferences.push(source(null, path))
    }
  }
  differences.push(...sourceDifferences.sort(byName))

  // Input derivations: paired by name, then by package name (a new version), the rest added or removed.
  const pairs: Array<{ name: string; base: string; head: string }> = []
  const inputDifferences: Array<Difference> = []
  const sameInput = (drvPath: string) =>
    head.inputDrvs[drvPath] !== undefined && base.inputDrvs[drvPath] !== undefined
  for (const drvPath of Object.keys(base.inputDrvs)) {
    const before = base.inputDrvs[drvPath]!
    const after = head.inputDrvs[drvPath]
    if (after !== undefined && before.join(",") !== after.join(",")) {
      const name = drvName(drvPath)
      inputDifferences.push(difference("input", packageName(name).name, `${name}^${before.join(",")}`, `${name}^${after.join(",")}`))
    }
  }
  const baseInputs = groupBy(Object.keys(base.inputDrvs).filter((drvPath) => !sameInput(drvPath)), drvName)
  const headInputs = groupBy(Object.keys(head.inputDrvs).filter((drvPath) => !sameInput(drvPath)), drvName)
  const unpairedBase: Array<string> = []
  const unpairedHead: Array<string> = []
  for (const name of new Set([...baseInputs.keys(), ...headInputs.keys()])) {
    const before = baseInputs.get(name) ?? []
    const after = headInputs.get(name) ?? []
    if (before.length === 1 && after.length === 1) pairs.push({ name, base: before[0]!, head: after[0]! })
    else {
      unpairedBase.push(...before)
      unpairedHead.push(...after)
    }
  }
  const basePackages = groupBy(unpairedBase, (drvPath) => packageName(drvName(drvPath)).name)
  const headPackages = groupBy(unpairedHead, (drvPath) => packageName(drvName(drvPath)).name)
  for (const name of new Set([...basePackages.keys(), ...headPackages.keys()])) {
    const before = basePackages.get(name) ?? []
    const after = headPackages.get(name) ?? []
    if (before.length === 1 && after.length === 1) {
      inputDifferences.push(difference("input", name, drvName(before[0]!), drvName(after[0]!)))
    } else {
      for (const drvPath of before) inputDifferences.push(difference("input", name, drvName(drvPath), null))
      for (const drvPath of after) inputDifferences.push(difference("input", name, null, drvName(drvPath)))
    }
  }
  differences.push(...inputDifferences.sort(byName))
  pairs.sort((a, b) => a.name.localeCompare(b.name))
  return { differences, pairs }
}

/** A node of the walk, filled in as the walk reaches it. */
interface Node {
  readonly base: string
  readonly head: string
  differences: Array<Difference>
  readonly children: Array<{ readonly name: string; readonly node: Node }>
  unexplored: Unexplored | null
  error: string | null
}

const freeze = (node: Node): ReadonlyArray<Difference> => {
  const inputs = node.children.map(({ name, node: child }) => {
    const why = freeze(child)
    return difference("input", packageName(name).name, name, name, {
      why,
      unexplored: child.unexplored,
      flakeInput: why.find((entry) => entry.flakeInput !== null)?.flakeInput ?? null
    })
  })
  // Input pairs go with the other inputs, in name order.
  const leaves = node.differences.filter((entry) => entry.kind !== "input")
  const other = node.differences.filter((entry) => entry.kind === "input")
  return [...leaves, ...[...other, ...inputs].sort(byName)]
}

/**
 * Explain one output: compare its derivations, then the differing input pairs
 * level by level, each pair once, until the depth or the count runs out.
 */
const explainOne = Effect.fnUntraced(function*<E, R>(
  read: (drvPath: string) => Effect.Effect<Derivation, E, R>,
  request: WhyRequest,
  options: WhyOptions,
  describeError: (error: E) => string
): Effect.fn.Return<OutputWhy, never, R> {
  const result = (why: ReadonlyArray<Difference>, error: string | null): OutputWhy => ({ ...request, why, error })
  if (request.head === null) return result([], "it did not evaluate at head")
  if (request.base === null) return result([], "it is new: there is nothing at base to compare with")
  if (request.base === request.head) return result([], null)
  const storeDir = storeDirOf(request.head)
  const root: Node = { base: request.base, head: request.head, differences: [], children: [], unexplored: null, error: null }
  const seen = new Set<string>()
  let level: Array<Node> = [root]
  let compared = 0
  for (let depth = 0; level.length > 0; depth++) {
    const next: Array<Node> = []
    const toCompare: Array<Node> = []
    for (const node of level) {
      const key = `${node.base}\0${node.head}`
      if (seen.has(key)) node.unexplored = "repeated"
      else if (compared >= options.limit) node.unexplored = "limit"
      else {
        seen.add(key)
        compared++
        toCompare.push(node)
      }
    }
    yield* Effect.forEach(toCompare, (node) =>
      Effect.all([read(node.base), read(node.head)]).pipe(
        Effect.match({
          onFailure: (error) => {
            node.unexplored = "unreadable"
            node.error = describeError(error)
          },
          onSuccess: ([base, head]) => {
            const comparison = compareDerivations(base, head, storeDir, options.flakeInputs)
            node.differences = comparison.differences
            for (const pair of comparison.pairs) {
              const child: Node = { base: pair.base, head: pair.head, differences: [], children: [], unexplored: null, error: null }
              node.children.push({ name: pair.name, node: child })
              if (depth < options.depth) next.push(child)
              else child.unexplored = "depth"
            }
          }
        })
      ), { concurrency: 8, discard: true })
    level = next
  }
  return result(freeze(root), root.error)
})

/** Explain each changed output; a derivation that cannot be read is said, never fatal. */
export const explainChanges = <E, R>(
  read: (drvPath: string) => Effect.Effect<Derivation, E, R>,
  requests: ReadonlyArray<WhyRequest>,
  options: WhyOptions,
  describeError: (error: E) => string
): Effect.Effect<ReadonlyArray<OutputWhy>, never, R> =>
  Effect.forEach(requests, (request) => explainOne(read, request, options, describeError), { concurrency: 4 })
