import { Result } from "effect"

/**
 * Store derivations (`.drv` files) read in their ATerm form,
 * `Derive([outputs],[inputDrvs],[inputSrcs],"system","builder",[args],[env])`.
 * The file format has not changed since Nix 1 (unlike `nix derivation show`'s JSON),
 * so Nix 2.8 and current Nix write the same text. The experimental dynamic-derivation
 * form `DrvWithVersion("xp-dyn-drv",…)` is read too: its inputs may name outputs of
 * outputs, of which only the direct ones are kept.
 */

export interface Derivation {
  /** Output name → output path; empty for a content-addressed output not yet built. */
  readonly outputs: Readonly<Record<string, string>>
  /** Input derivation → the outputs of it this one uses. */
  readonly inputDrvs: Readonly<Record<string, ReadonlyArray<string>>>
  /** Store paths that are not outputs of derivations (sources copied in, `builtins.toFile`). */
  readonly inputSrcs: ReadonlyArray<string>
  readonly system: string
  readonly builder: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

type Term = string | {
  readonly kind: "list" | "tuple" | "constructor"
  /** A constructor's name (`Derive`); empty for lists and tuples. */
  readonly name: string
  readonly items: ReadonlyArray<Term>
}

class ParseError extends Error {}

const escapes: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t" }

/** A recursive-descent reader of the ATerm subset derivations use: strings, lists, tuples, constructors. */
const parseTerm = (text: string): Term => {
  let at = 0
  const fail = (expected: string): never => {
    throw new ParseError(`expected ${expected} at offset ${at}, found ${JSON.stringify(text.slice(at, at + 20))}`)
  }
  const expect = (char: string) => (text[at] === char ? at++ : fail(JSON.stringify(char)))

  const string = (): string => {
    expect(`"`)
    let value = ""
    for (;;) {
      // Whole runs without escapes at once: env values can be long scripts.
      const quote = text.indexOf(`"`, at)
      const backslash = text.indexOf("\\", at)
      if (quote < 0) return fail("the end of a string")
      if (backslash < 0 || quote < backslash) {
        value += text.slice(at, quote)
        at = quote + 1
        return value
      }
      value += text.slice(at, backslash)
      const escaped = text[backslash + 1] ?? fail("an escaped character")
      value += escapes[escaped] ?? escaped
      at = backslash + 2
    }
  }

  const sequence = (close: string): Array<Term> => {
    const items: Array<Term> = []
    if (text[at] === close) {
      at++
      return items
    }
    for (;;) {
      items.push(term())
      if (text[at] === ",") at++
      else {
        expect(close)
        return items
      }
    }
  }

  const term = (): Term => {
    const char = text[at]
    if (char === `"`) return string()
    if (char === "[") {
      at++
      return { kind: "list", name: "", items: sequence("]") }
    }
    if (char === "(") {
      at++
      return { kind: "tuple", name: "", items: sequence(")") }
    }
    const name = /^[A-Za-z]+\(/.exec(text.slice(at, at + 40))?.[0]
    if (name === undefined) return fail("a string, list, tuple or constructor")
    at += name.length
    return { kind: "constructor", name: name.slice(0, -1), items: sequence(")") }
  }

  const value = term()
  if (text.slice(at).trim() !== "") fail("the end of the file")
  return value
}

const str = (term: Term | undefined, what: string): string => {
  if (typeof term !== "string") throw new ParseError(`${what}: expected a string`)
  return term
}
const items = (kind: "list" | "tuple") => (term: Term | undefined, what: string): ReadonlyArray<Term> => {
  if (typeof term !== "object" || term.kind !== kind) throw new ParseError(`${what}: expected a ${kind}`)
  return term.items
}
const list = items("list")
const tuple = items("tuple")
const strings = (term: Term | undefined, what: string) => list(term, what).map((item) => str(item, what))

/** `["out"]`, or with dynamic derivations `(["out"],[(output, …)])`: the direct outputs either way. */
const usedOutputs = (term: Term | undefined): ReadonlyArray<string> =>
  typeof term === "object" && term.kind === "tuple" ? strings(term.items[0], "input outputs") : strings(term, "input outputs")

const pairs = <A>(term: Term | undefined, what: string, value: (entry: ReadonlyArray<Term>) => A): Record<string, A> => {
  const result: Record<string, A> = {}
  for (const entry of list(term, what)) {
    const fields = tuple(entry, what)
    result[str(fields[0], what)] = value(fields)
  }
  return result
}

/** The derivation in a `.drv` file's text, or why it is not one. */
export const parseDerivation = (text: string): Result.Result<Derivation, string> => {
  try {
    const top = parseTerm(text)
    if (typeof top === "string" || top.kind !== "constructor") throw new ParseError("expected Derive(…)")
    const fields = top.name === "Derive" ? top.items : top.name === "DrvWithVersion" ? top.items.slice(1) : []
    if (fields.length !== 7) throw new ParseError(`expected Derive(…) with 7 fields, found ${top.name}(…) with ${top.items.length}`)
    const [outputs, inputDrvs, inputSrcs, system, builder, args, env] = fields
    return Result.succeed({
      outputs: pairs(outputs, "outputs", (entry) => str(entry[1], "output path")),
      inputDrvs: pairs(inputDrvs, "inputDrvs", (entry) => usedOutputs(entry[1])),
      inputSrcs: strings(inputSrcs, "inputSrcs"),
      system: str(system, "system"),
      builder: str(builder, "builder"),
      args: strings(args, "args"),
      env: pairs(env, "env", (entry) => str(entry[1], "env value"))
    })
  } catch (error) {
    if (error instanceof ParseError) return Result.fail(error.message)
    throw error
  }
}
