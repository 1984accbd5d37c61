import { Schema } from "effect"
import { type MetaDataEntry, metaDataKeys, metaDataLimitBytes } from "./metaData.ts"

/**
 * Why each planned build changed, one line each by its target (a result's
 * `targetKey`): `tool plan` sets it under `ci:plan:why` with its upload, and the bot
 * shows each line beside the derivation's row. Plain text; each reader escapes it.
 */

export const PlanWhy = Schema.Struct({ version: Schema.Literal(1), lines: Schema.Record(Schema.String, Schema.String) })
export type PlanWhy = typeof PlanWhy.Type
export const PlanWhyFromJson = Schema.fromJsonString(PlanWhy)

/** A line is a summary: the plan's report has the rest. */
const maxLineLength = 200

/** The lines as meta-data, under Buildkite's limit (the first targets kept); none when there are none. */
export const planWhyMetaData = (lines: ReadonlyArray<readonly [string, string]>): ReadonlyArray<MetaDataEntry> => {
  const kept: Array<readonly [string, string]> = []
  let size = 40
  for (const [target, line] of lines) {
    const clipped = line.length <= maxLineLength ? line : `${line.slice(0, maxLineLength - 1)}…`
    const entrySize = Buffer.byteLength(JSON.stringify(target)) + Buffer.byteLength(JSON.stringify(clipped)) + 2
    if (size + entrySize > metaDataLimitBytes) break
    kept.push([target, clipped])
    size += entrySize
  }
  if (kept.length === 0) return []
  return [{ key: metaDataKeys.planWhy, value: Schema.encodeSync(PlanWhyFromJson)({ version: 1, lines: Object.fromEntries(kept) }) }]
}
