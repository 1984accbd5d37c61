import { Option, Schema } from "effect"
import { stripVTControlCharacters } from "node:util"

/**
 * Nix's error output, reduced to one message a user can act on. `nix/lib.nix` marks
 * where in `ciActions` it was working with "while validating `<place>`", and Nix
 * prints those marks with `--show-trace`; an error thrown by the user's own code
 * (a missing attribute, an invalid regular expression) is reported at that place.
 */

export interface NixErrorSummary {
  readonly message: string
  /** The innermost `ciActions…` place being validated or resolved, when known. */
  readonly place?: string
  /** Where in the flake's own source the error was raised, relative to the repository. */
  readonly position?: string
  /**
   * The standard output `nix/ci-actions.nix` was evaluating ("while evaluating the
   * output ["packages",…]"): the error is that output's, not the flake's.
   */
  readonly output?: ReadonlyArray<string>
  /**
   * When the error itself names no place in the flake (a `throw` on Nix 2.8): the place in
   * the flake's source the trace shows nearest to the message, its innermost.
   */
  readonly nearestPosition?: string
}

// Lines are split at "\n" only: with `s`, a U+2028 or U+0085 that a flake put in its
// message stays part of the line instead of ending the match. Nix's "…" and "«»" are
// escaped: the bundle stays ASCII (scripts/build.mjs says why).
const errorLine = /^\s*error:\s?(.*)$/s
const placeLine = /\u2026 while (?:validating|resolving) `([^`]+)`/
const outputLine = /\u2026 while evaluating the output (\[.*\])\s*$/s
const positionLine = /^\s*at (.+):(\d+):(\d+):\s*$/s
const traceItem = /^\s*(\u2026|error:)/
const hintLine = /^\s*Did you mean .*$/s
const continuationEnd = /^\s*$|^\s*(at |\u2026 |\(use )/

const hints: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /cannot (update|write) .*(lock|flake input)|lock file .*(needs to be updated|not allowed)/,
    "the flake.lock at this commit is missing an input or out of date: run `nix flake lock` and commit flake.lock"
  ]
]

const takeWhile = <A>(items: ReadonlyArray<A>, predicate: (item: A) => boolean): Array<A> => {
  const taken: Array<A> = []
  for (const item of items) {
    if (!predicate(item)) break
    taken.push(item)
  }
  return taken
}

/**
 * Where the flake being evaluated is, to tell its positions from others': Nix before
 * 2.2x shows a position in the store path its source was copied to; later versions
 * show `«git+file:///repo?ref=…&rev=…»/flake.nix`.
 */
export interface FlakeOrigin {
  readonly storePath?: string | undefined
  readonly repository: string
  readonly rev: string | undefined
}

/** A file's path relative to the flake's repository, if it is in the flake's own source. */
const inFlake = (file: string, origin: FlakeOrigin): string | undefined => {
  if (origin.storePath !== undefined && file.startsWith(`${origin.storePath}/`)) return file.slice(origin.storePath.length + 1)
  const shown = /^\u00ab(git\+file:[^\u00bb]+)\u00bb\/(.+)$/.exec(file)
  if (shown === null) return undefined
  const url = URL.parse(shown[1]!)
  return url !== null && decodeURIComponent(url.pathname) === origin.repository && (url.searchParams.get("rev") ?? undefined) === origin.rev
    ? shown[2]
    : undefined
}

/**
 * @param origin the flake evaluated: positions inside its source are shown relative
 * to the repository; positions in other sources (the ci library, nixpkgs) say
 * nothing the user can fix and are left out.
 */
export const summariseNixError = (stderr: string, origin?: FlakeOrigin): NixErrorSummary => {
  const lines = stripVTControlCharacters(stderr).split("\n")

  // Nix 2.8 prints the message first and the trace after it; later versions print
  // the trace first and the message last. The last non-empty `error:` line is the
  // message in both.
  let messageAt = -1
  lines.forEach((line, i) => {
    const match = errorLine.exec(line)
    if (match?.[1] !== undefined && match[1].trim() !== "") messageAt = i
  })
  if (messageAt === -1) {
    const text = lines.filter((line) => line.trim() !== "" && !line.startsWith("warning:")).slice(-3).join("\n").trim()
    return { message: text === "" ? "nix failed without an error message" : text }
  }

  const following = lines.slice(messageAt + 1)
  const block = takeWhile(following, (line) => !traceItem.test(line))
  const text = [errorLine.exec(lines[messageAt]!)![1]!, ...takeWhile(following, (line) => !continuationEnd.test(line))]
    .map((line) => line.trim())
    .join("\n")
  const hint = hints.find(([pattern]) => pattern.test(text))?.[1]
  const suggestions = block.filter((line) => hintLine.test(line)).map((line) => line.trim().replace(/^Did/, "did"))
  const message = [text, ...[...suggestions, ...(hint === undefined ? [] : [hint])].map((note) => `(${note})`)].join(" ")

  // Places nest (`ciActions.a.checks[0]` within `ciActions.a`), so the longest is the innermost.
  const place = lines
    .map((line) => placeLine.exec(line)?.[1])
    .filter((p): p is string => p !== undefined)
    .reduce<string | undefined>((longest, p) => (longest === undefined || p.length > longest.length ? p : longest), undefined)

  const position = block.map((line) => positionLine.exec(line)).find((match) => match !== null)
  const file = position === undefined || origin === undefined ? undefined : inFlake(position[1]!, origin)
  // Nix 2.8 prints the trace innermost first after the message, later versions innermost last before it.
  const nearest = origin === undefined || file !== undefined ? undefined : lines
    .flatMap((line, i) => {
      const match = positionLine.exec(line)
      const inSource = match === null ? undefined : inFlake(match[1]!, origin)
      return inSource === undefined ? [] : [{ distance: Math.abs(i - messageAt), at: `${inSource}:${match![2]}:${match![3]}` }]
    })
    .reduce<{ distance: number; at: string } | undefined>((best, p) => (best === undefined || p.distance < best.distance ? p : best), undefined)

  const output = lines.map(outputPath).find((path) => path !== undefined)

  return {
    message,
    ...(place === undefined ? {} : { place }),
    ...(output === undefined ? {} : { output }),
    ...(nearest === undefined ? {} : { nearestPosition: nearest.at }),
    ...(file === undefined ? {} : { position: `${file}:${position![2]}:${position![3]}` })
  }
}

// The attribute path is JSON (`toJSON`), so no name, however odd, is misread.
const decodeOutputPath = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Array(Schema.String)))
const outputPath = (line: string): ReadonlyArray<string> | undefined => {
  const json = outputLine.exec(line)?.[1]
  return json === undefined ? undefined : Option.getOrUndefined(decodeOutputPath(json))
}

// The library's own messages already start with where they were raised.
const locatedMessage = /^(ciActions|mkActions)[.:[]/

/** One line for the user: the place first, then Nix's message, then where it was raised. */
export const formatNixError = (summary: NixErrorSummary): string => {
  const located = summary.place !== undefined && !locatedMessage.test(summary.message)
    ? `${summary.place}: ${summary.message}`
    : summary.message
  return summary.position === undefined ? located : `${located} (at ${summary.position})`
}
