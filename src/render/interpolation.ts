/**
 * `buildkite-agent pipeline upload` interpolates every string in the pipeline:
 * `$VAR`, `${VAR}` and `${VAR:-x}` expand, `$1` is an error, and `$$` or `\$` is a
 * literal `$` (buildkite/interpolate). The pipelines here are built from literal
 * text (branch names, commit messages, labels that a pusher controls), so every `$`
 * is escaped on the way out, and upload is never given `--no-interpolation`.
 *
 * A `\` directly before `$` cannot be carried: the agent reads `\$` as an escaped
 * `$`, and `\\` as two backslashes. Such a run gains one backslash, which keeps
 * the `$` literal: never interpolated, never an upload error.
 */
export const escapeInterpolation = (text: string): string =>
  text.replace(/(\\*)\$/g, (_, backslashes: string) => `${backslashes}${backslashes.length % 2 === 1 ? "\\" : ""}$$`)

/**
 * Escape every string in a pipeline, keys included: the agent interpolates map keys
 * too (go-pipeline's `interpolateMap`), and a plugin's name comes from the environment.
 */
export const escapePipeline = <A>(value: A): A => {
  if (typeof value === "string") return escapeInterpolation(value) as A
  if (Array.isArray(value)) return value.map(escapePipeline) as A
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [escapeInterpolation(key), escapePipeline(inner)])) as A
  }
  return value
}
