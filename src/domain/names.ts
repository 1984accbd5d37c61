/**
 * Characters no one means in a name (a check, a deploy step, an action, a flake
 * output): controls (C0, DEL, C1 with NEL), line and paragraph separators, the
 * invisible format characters (soft hyphen, zero-width and bidirectional marks,
 * word joiners, the byte order mark, interlinear annotations), U+FFFD (what a name
 * that is not UTF-8 decodes to) and the noncharacters U+FFFE and U+FFFF. YAML 1.1
 * parsers read several of them as line breaks, and terminals and review tools hide
 * the rest. A lone surrogate is no character at all.
 *
 * `unmeantCharacters` in nix/lib.nix lists the same set for evaluation (Nix strings
 * hold no NUL and no surrogates); test/domain/names.test.ts checks that the two agree.
 */
export const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

const unmeant = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\ufffd-\\uffff]|${loneSurrogate.source}`
)

/** `U+2028` style. */
const codePoint = (char: string): string => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`

/** The first character of `text` no one means in a name, as `U+2028`; undefined when there is none. */
export const unmeantCharacter = (text: string): string | undefined => {
  const found = unmeant.exec(text)
  return found === null ? undefined : codePoint(found[0])
}

/** The message for a name with such a character, in the words nix/lib.nix uses. */
export const unmeantDetail = (found: string): string => `expected a name without control or invisible characters (found ${found})`

/**
 * Text as written, for a person to read: a character no one means is shown as an
 * escape (`\u{2028}`) instead, so that nothing a terminal, a log or a review hides
 * or acts on is passed through.
 */
export const visibleText = (text: string): string =>
  Array.from(text, (char) => (unmeantCharacter(char) === undefined ? char : `\\u{${char.codePointAt(0)!.toString(16)}}`)).join("")
