import { Schema } from "effect"
import type { MetaDataEntry } from "./metaData.ts"

/**
 * The build step's installables when there are too many for its command line:
 * `tool plan` sets them as meta-data before its upload, `tool build --from-meta-data
 * <key>` reads them back. `<key>` holds the index, `<key>:<n>` each chunk of them,
 * every value under Buildkite's 100 KB.
 */

export const PlannedBuildsIndex = Schema.fromJsonString(Schema.Struct({ version: Schema.Literal(1), chunks: Schema.Int, count: Schema.Int }))
export const PlannedBuildsChunk = Schema.fromJsonString(Schema.Array(Schema.String))

export const plannedBuildsChunkKey = (key: string, chunk: number): string => `${key}:${chunk}`

const maxChunkBytes = 90_000

/** The installables as meta-data under `key`, in order. */
export const plannedBuildsMetaData = (key: string, installables: ReadonlyArray<string>): ReadonlyArray<MetaDataEntry> => {
  const chunks: Array<Array<string>> = [[]]
  let size = 2
  for (const item of installables) {
    const itemSize = Buffer.byteLength(JSON.stringify(item)) + 1
    if (size + itemSize > maxChunkBytes && chunks.at(-1)!.length > 0) {
      chunks.push([])
      size = 2
    }
    chunks.at(-1)!.push(item)
    size += itemSize
  }
  return [
    { key, value: Schema.encodeSync(PlannedBuildsIndex)({ version: 1, chunks: chunks.length, count: installables.length }) },
    ...chunks.map((chunk, i) => ({ key: plannedBuildsChunkKey(key, i), value: Schema.encodeSync(PlannedBuildsChunk)(chunk) }))
  ]
}
