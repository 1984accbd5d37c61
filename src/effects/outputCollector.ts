import { StringDecoder } from "node:string_decoder"

/**
 * How a run keeps a program's output (Process.run, and a process started before the tool
 * loaded, src/effects/prestarted.ts): plain Node, without effect, for the second's sake.
 */

/** How much of a stream a run keeps unless told otherwise (`RunOptions.maxOutputBytes`). */
export const defaultMaxOutputBytes = 256 * 1024 * 1024

/**
 * A stream's text, decoded as it comes, so that no chunk outlives its read (an evaluation's
 * output is otherwise held three times over: the chunks, their concatenation, the string),
 * kept up to `limit` bytes. Past the cap chunks are still taken and dropped, so the program
 * never blocks on a full pipe.
 */
export const outputCollector = (limit: number) => {
  const decoder = new StringDecoder("utf8")
  let text = ""
  let size = 0
  let overflowed = false
  return {
    add: (chunk: Uint8Array): void => {
      if (size + chunk.length > limit) overflowed = true
      else {
        text += decoder.write(chunk)
        size += chunk.length
      }
    },
    result: (): { readonly text: string; readonly overflowed: boolean } => ({ text: text + decoder.end(), overflowed })
  }
}
