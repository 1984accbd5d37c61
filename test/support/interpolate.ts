/**
 * Buildkite's upload-time interpolation (buildkite/interpolate v0.1.5, as agents
 * since v3.88 apply it), written out from its grammar for tests: what a string in
 * an uploaded pipeline becomes.
 *
 *   EscapedBackslash = "\\"            (kept as two backslashes)
 *   EscapedDollar    = "\$" | "$$"     (a literal "$")
 *   "$("                               (kept: a shell substitution)
 *   Expansion        = "$" Identifier | "${" Identifier [ Operation ] "}"
 *
 * Returns the text, and whether any expansion happened.
 */
export interface Interpolated {
  readonly text: string
  readonly expansions: ReadonlyArray<string>
}

const letter = /\p{L}/u
const identifierChar = /[\p{L}\p{N}_]/u

export const interpolate = (input: string, env: Readonly<Record<string, string>>): Interpolated => {
  const expansions: Array<string> = []
  let pos = 0

  const identifier = (): string => {
    const start = pos
    while (pos < input.length && identifierChar.test(input[pos]!)) pos++
    return input.slice(start, pos)
  }

  const expression = (stop: string): string => {
    let out = ""
    while (pos < input.length && !stop.includes(input[pos]!)) {
      const rest = input.slice(pos)
      if (rest.startsWith("\\\\")) {
        out += "\\\\"
        pos += 2
      } else if (rest.startsWith("\\$") || rest.startsWith("$$")) {
        out += "$"
        pos += 2
      } else if (rest.startsWith("$(")) {
        out += "$("
        pos += 2
      } else if (rest[0] === "$" && pos < input.length - 1 && (letter.test(rest[1]!) || rest[1] === "{")) {
        out += expansion()
      } else {
        out += rest[0]
        pos++
      }
    }
    return out
  }

  const expansion = (): string => {
    pos++ // $
    if (input[pos] !== "{") {
      const name = identifier()
      expansions.push(name)
      return env[name] ?? ""
    }
    pos++ // {
    if (!letter.test(input[pos] ?? "")) throw new Error(`expected an identifier at ${pos} in ${JSON.stringify(input)}`)
    const name = identifier()
    expansions.push(name)
    const value = env[name]
    const operator = input.slice(pos).match(/^(:-|-|:\?|\?|:|##|#|%%|%)?/)?.[0] ?? ""
    pos += operator.length
    let result = value ?? ""
    if (operator === ":-" || operator === "-") {
      const fallback = expression("}")
      if (value === undefined || (operator === ":-" && value === "")) result = fallback
    } else if (operator !== "") {
      // Substrings, required values and pattern removal: none of them should ever appear.
      while (pos < input.length && input[pos] !== "}") pos++
    }
    if (input[pos] !== "}") throw new Error(`unterminated \${ in ${JSON.stringify(input)}`)
    pos++
    return result
  }

  return { text: expression(""), expansions }
}

/** Interpolate every string in a parsed pipeline, map keys included, as go-pipeline does. */
export const interpolatePipeline = (value: unknown, env: Readonly<Record<string, string>>): { value: unknown; expansions: Array<string> } => {
  const expansions: Array<string> = []
  const walk = (inner: unknown): unknown => {
    if (typeof inner === "string") {
      const result = interpolate(inner, env)
      expansions.push(...result.expansions)
      return result.text
    }
    if (Array.isArray(inner)) return inner.map(walk)
    if (inner !== null && typeof inner === "object") {
      return Object.fromEntries(Object.entries(inner).map(([key, item]) => [walk(key), walk(item)]))
    }
    return inner
  }
  return { value: walk(value), expansions }
}
