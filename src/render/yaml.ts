import { Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { type MetaDataEntry, metaDataKeys } from "../domain/metaData.ts"
import type { Pipeline } from "./pipeline.ts"

/**
 * YAML as the Buildkite agent reads it: go-yaml v3, a port of libyaml, so YAML 1.1.
 * The rule for every string, key or value, is small on purpose:
 *
 * - plain only when it is a word that no YAML parser reads as anything but that
 *   string: a letter, then letters, digits and `_ . / -`, and not one of YAML 1.1's
 *   booleans or nulls (`yes`, `on`, `n`, `null`, ... in any case). Numbers,
 *   timestamps, `.inf` and `~` all start with something else;
 * - otherwise double-quoted, with `"` and `\` escaped and every character outside
 *   printable ASCII written as `\xXX`, `\uXXXX` or `\UXXXXXXXX`. So no line break,
 *   separator, NEL, BOM or control character ever appears raw: the text of a
 *   scalar is ASCII, and reads back the same in YAML 1.1 and 1.2.
 *
 * A lone surrogate has no escape libyaml accepts (it refuses `\uD800`); every input
 * that could hold one is refused before it is rendered (`StepData`'s `Text`), so
 * meeting one here is a defect.
 */

const plainWord = /^[A-Za-z][A-Za-z0-9_./-]*$/
const yaml11Word = /^(?:y|n|yes|no|on|off|true|false|null)$/i

const hex = (code: number, digits: number) => code.toString(16).toUpperCase().padStart(digits, "0")

const doubleQuoted = (text: string): string => {
  let out = `"`
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!
    if (code > 0xffff) i++
    else if (code >= 0xd800 && code <= 0xdfff) throw new Error(`a lone surrogate (U+${hex(code, 4)}) cannot be written in YAML`)
    if (code === 0x22) out += `\\"`
    else if (code === 0x5c) out += `\\\\`
    else if (code >= 0x20 && code <= 0x7e) out += String.fromCharCode(code)
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`
    else out += `\\U${hex(code, 8)}`
  }
  return `${out}"`
}

/** One string as a YAML scalar that every YAML 1.1 and 1.2 parser reads back as that string. */
export const yamlString = (text: string): string =>
  plainWord.test(text) && !yaml11Word.test(text) ? text : doubleQuoted(text)

const isMapping = (value: unknown): value is Readonly<Record<string, unknown>> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const entriesOf = (value: Readonly<Record<string, unknown>>) => Object.entries(value).filter(([, inner]) => inner !== undefined)

const isBlock = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 : isMapping(value) && entriesOf(value).length > 0

const inline = (value: unknown): string => {
  if (typeof value === "string") return yamlString(value)
  if (typeof value === "boolean") return value ? "true" : "false"
  if (value === null) return "null"
  // Integers only: the pipelines hold no other number, and 1.1 reads `1e3` as a string.
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value)
  if (Array.isArray(value)) return "[]"
  if (isMapping(value)) return "{}"
  throw new Error(`cannot write ${typeof value} ${String(value)} in a pipeline`)
}

/** The lines of a non-empty sequence or mapping, each starting with `indent`. */
const blockLines = (value: unknown, indent: string): Array<string> => {
  const deeper = `${indent}  `
  if (Array.isArray(value)) {
    return value.flatMap((item: unknown) => {
      if (!isBlock(item)) return [`${indent}- ${inline(item)}`]
      const [first, ...rest] = blockLines(item, deeper)
      return [`${indent}- ${first!.slice(deeper.length)}`, ...rest]
    })
  }
  return entriesOf(value as Readonly<Record<string, unknown>>).flatMap(([key, inner]) =>
    isBlock(inner) ? [`${indent}${yamlString(key)}:`, ...blockLines(inner, deeper)] : [`${indent}${yamlString(key)}: ${inline(inner)}`]
  )
}

const text = (lines: ReadonlyArray<string>) => lines.map((line) => `${line}\n`).join("")

/** A step as an item of `steps:`. */
const stepItem = (step: unknown): string => text(blockLines([step], "  "))

const documentOf = (items: ReadonlyArray<string>): string => (items.length === 0 ? "steps: []\n" : `steps:\n${items.join("")}`)

/** The pipeline as one YAML document, whatever its length. */
export const pipelineDocument = (pipeline: Pipeline): string => documentOf(pipeline.steps.map(stepItem))

/** Buildkite accepts at most this many jobs in one upload. */
export const maxStepsPerUpload = 500

/** A later part travels in one meta-data value: Buildkite takes up to 100 KB, and this leaves room. */
const maxPartBytes = 90_000

/**
 * The last step of every part but the last: it uploads the next part, which
 * Buildkite inserts right after it. Placed after every gate of its part (and so of
 * the parts before), it runs only once they have opened. `$` never appears here, so
 * upload-time interpolation leaves it alone.
 */
const uploaderStep = (part: number) => ({
  label: `Upload part ${part} of the pipeline`,
  key: `pipeline-part-${part}`,
  command: `set -o pipefail; buildkite-agent meta-data get ${metaDataKeys.pipelinePart(part)} | buildkite-agent pipeline upload`
})

export interface PipelineUpload {
  /** What the planning job uploads: the first part. */
  readonly document: string
  /** The later parts, each as the meta-data its uploader reads, to be set before the first upload. */
  readonly parts: ReadonlyArray<MetaDataEntry>
}

/**
 * The pipeline as uploads Buildkite accepts. Up to `limits.steps` steps it is one
 * document. Beyond, it is split into parts of at most `limits.steps` jobs, each but
 * the last ending with the step that uploads the next (`uploaderStep`); parts after
 * the first are meta-data, so each is at most `limits.bytes`. Several uploads from
 * one job would each land right after that job, so whatever the order, some steps
 * would exist before the gates meant to precede them; a chain of single uploads
 * keeps every step behind every gate before it.
 */
export const pipelineUpload = (
  pipeline: Pipeline,
  limits: { readonly steps: number; readonly bytes: number } = { steps: maxStepsPerUpload, bytes: maxPartBytes }
): Result.Result<PipelineUpload, PlanInputError> => {
  if (pipeline.steps.length <= limits.steps) return Result.succeed({ document: pipelineDocument(pipeline), parts: [] })
  const items = pipeline.steps.map(stepItem)
  const sizes = items.map((item) => Buffer.byteLength(item))
  const documents: Array<string> = []
  let start = 0
  while (start < items.length) {
    const part = documents.length + 1
    // `steps:\n`, then the items: the size of a part's document, counted as it grows.
    const fits = (count: number, size: number) => count <= limits.steps && (part === 1 || 7 + size <= limits.bytes)
    const restSize = sizes.slice(start).reduce((sum, size) => sum + size, 0)
    if (fits(items.length - start, restSize)) {
      documents.push(documentOf(items.slice(start)))
      break
    }
    const uploader = stepItem(uploaderStep(part + 1))
    let end = start
    let size = Buffer.byteLength(uploader)
    while (end < items.length && fits(end - start + 2, size + sizes[end]!)) size += sizes[end++]!
    if (end === start) {
      return Result.fail(
        new PlanInputError({
          place: `pipeline step ${start + 1}`,
          detail: `its YAML takes ${sizes[start]} bytes, and a part after the first of a pipeline over ${limits.steps} steps travels in one meta-data value of at most ${limits.bytes} bytes`
        })
      )
    }
    documents.push(documentOf([...items.slice(start, end), uploader]))
    start = end
  }
  const [document, ...later] = documents
  return Result.succeed({ document: document!, parts: later.map((value, i) => ({ key: metaDataKeys.pipelinePart(i + 2), value })) })
}

/** One text for reading: every part, separated by `---`. */
export const uploadYaml = (upload: PipelineUpload): string => [upload.document, ...upload.parts.map((part) => part.value)].join("---\n")
