import { Result } from "effect"

/**
 * Condition patterns are POSIX extended regular expressions, read as Nix's
 * `builtins.match` reads them (libstdc++'s `std::regex::extended`) and matched
 * against the whole string. `nix/lib.nix` has Nix check each pattern, so only
 * valid ones arrive here; this turns one into an equivalent JavaScript RegExp.
 */

/** Thrown within the translation, which is recursive; `compileFullMatch` turns it into its result. */
class PatternError extends Error {}

const posixClasses: Record<string, string> = {
  alpha: "a-zA-Z",
  digit: "0-9",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\n\\r\\f\\v",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  cntrl: "\\x00-\\x1f\\x7f",
  print: "\\x20-\\x7e",
  graph: "\\x21-\\x7e",
  w: "\\w"
}

const escapeLiteral = (char: string): string => (/[\\^$.|?*+()[\]{}/-]/.test(char) ? `\\${char}` : char)

/** Translate a bracket expression starting after `[`; returns the class and the index after `]`. */
const bracket = (pattern: string, start: number): [string, number] => {
  let i = start
  let negated = false
  if (pattern[i] === "^") {
    negated = true
    i++
  }
  let body = ""
  let first = true
  while (i < pattern.length) {
    const char = pattern[i]!
    if (char === "]" && !first) return [`[${negated ? "^" : ""}${body}]`, i + 1]
    first = false
    if (char === "[" && (pattern[i + 1] === ":" || pattern[i + 1] === "=" || pattern[i + 1] === ".")) {
      const kind = pattern[i + 1]!
      const end = pattern.indexOf(`${kind}]`, i + 2)
      if (end === -1) throw new PatternError(`unterminated [${kind} in ${JSON.stringify(pattern)}`)
      const name = pattern.slice(i + 2, end)
      if (kind === ":") {
        const translated = posixClasses[name]
        if (translated === undefined) throw new PatternError(`unknown character class [:${name}:]`)
        body += translated
      } else {
        body += [...name].map(escapeLiteral).join("")
      }
      i = end + 2
      continue
    }
    // Inside brackets a backslash is an ordinary character in POSIX.
    const rangeEnd = pattern[i + 2]
    if (pattern[i + 1] === "-" && rangeEnd !== undefined && rangeEnd !== "]") {
      body += `${escapeLiteral(char)}-${escapeLiteral(rangeEnd)}`
      i += 3
    } else {
      body += escapeLiteral(char)
      i++
    }
  }
  throw new PatternError(`unterminated bracket expression in ${JSON.stringify(pattern)}`)
}

/** Translate a sequence of alternatives up to `)` or the end; returns JavaScript source and the index reached. */
const alternatives = (pattern: string, start: number, depth: number): [string, number] => {
  let out = ""
  let atomStart = -1
  let quantified = false
  let i = start
  const atom = (source: string) => {
    atomStart = out.length
    quantified = false
    out += source
  }
  while (i < pattern.length) {
    const char = pattern[i]!
    if (char === ")") {
      if (depth === 0) throw new PatternError(`unmatched ) in ${JSON.stringify(pattern)}`)
      return [out, i]
    }
    if (char === "|") {
      out += "|"
      atomStart = -1
      i++
    } else if (char === "(") {
      const [inner, end] = alternatives(pattern, i + 1, depth + 1)
      if (pattern[end] !== ")") throw new PatternError(`unmatched ( in ${JSON.stringify(pattern)}`)
      atom(`(?:${inner})`)
      i = end + 1
    } else if (char === "[") {
      const [cls, end] = bracket(pattern, i + 1)
      atom(cls)
      i = end
    } else if (char === "\\") {
      const next = pattern[i + 1]
      if (next === undefined) throw new PatternError(`trailing backslash in ${JSON.stringify(pattern)}`)
      atom(escapeLiteral(next))
      i += 2
    } else if (char === "*" || char === "+" || char === "?" || char === "{") {
      let quantifier = char
      if (char === "{") {
        const end = pattern.indexOf("}", i)
        if (end === -1) throw new PatternError(`unterminated interval in ${JSON.stringify(pattern)}`)
        quantifier = pattern.slice(i, end + 1)
        i = end + 1
      } else {
        i++
      }
      if (atomStart === -1) throw new PatternError(`nothing to repeat in ${JSON.stringify(pattern)}`)
      // POSIX lets quantifiers stack (`a**`); JavaScript needs a group between them.
      if (quantified) out = `${out.slice(0, atomStart)}(?:${out.slice(atomStart)})`
      out += quantifier
      quantified = true
    } else if (char === ".") {
      atom("[\\s\\S]")
      i++
    } else if (char === "^" || char === "$") {
      atom(char)
      i++
    } else {
      atom(escapeLiteral(char))
      i++
    }
  }
  return [out, i]
}

/** A RegExp that holds exactly when `builtins.match pattern value != null`, or why the pattern is none. */
export const compileFullMatch = (pattern: string): Result.Result<RegExp, string> => {
  try {
    const [source] = alternatives(pattern, 0, 0)
    return Result.succeed(new RegExp(`^(?:${source})$`))
  } catch (error) {
    if (error instanceof PatternError) return Result.fail(error.message)
    throw error
  }
}
