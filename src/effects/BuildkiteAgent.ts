import { Context, Effect, Layer, Schema } from "effect"
import { metaDataLimitBytes } from "../domain/metaData.ts"
import { Process, ProcessError } from "./Process.ts"

/** Everything the tool tells Buildkite goes through `buildkite-agent`. */

export class BuildkiteAgentError extends Schema.TaggedError<BuildkiteAgentError>()("BuildkiteAgentError", {
  operation: Schema.String,
  cause: ProcessError
}) {
  override get message() {
    // Not found: this is not a Buildkite job, and the person running it needs another command.
    if (this.cause._tag === "ProcessSpawnFailed" && /NotFound|ENOENT/.test(this.cause.detail)) {
      return `buildkite-agent is not installed here, so this is not a Buildkite job: ` +
        `run \`tool plan --dry-run\` to print the pipeline, or \`tool run\` to run it on this machine`
    }
    return `buildkite-agent ${this.operation} failed: ${this.cause.message}`
  }
}

export type AnnotationStyle = "success" | "info" | "warning" | "error"

const cutMarker = (bytes: number) => `\n…[cut: ${bytes} bytes over Buildkite's 100 KB meta-data limit]`

/**
 * A meta-data value Buildkite accepts: never empty (the agent rejects a blank
 * value) and at most 100 KB, cut on a character boundary with a marker saying so.
 */
export const metaDataValue = (value: string): string => {
  if (value.trim() === "") return "(empty)"
  const bytes = Buffer.byteLength(value)
  if (bytes <= metaDataLimitBytes) return value
  const marker = cutMarker(bytes - metaDataLimitBytes)
  const room = metaDataLimitBytes - Buffer.byteLength(marker)
  // Cutting bytes may split a character; decoding drops the broken end.
  const cut = Buffer.from(value).subarray(0, room).toString("utf8").replace(/\uFFFD$/, "")
  return `${cut}${marker}`
}

export class BuildkiteAgent extends Context.Service<BuildkiteAgent, {
  /**
   * Upload one pipeline document (at most 500 jobs): its steps land right after the
   * uploading job. A longer pipeline chains its parts (`pipelineUpload` in src/render/yaml.ts).
   */
  uploadPipeline(document: string): Effect.Effect<void, BuildkiteAgentError>
  setMetaData(key: string, value: string): Effect.Effect<void, BuildkiteAgentError>
  getMetaData(key: string): Effect.Effect<string, BuildkiteAgentError>
  annotate(
    body: string,
    options: { readonly style: AnnotationStyle; readonly context: string; readonly append?: boolean }
  ): Effect.Effect<void, BuildkiteAgentError>
}>()("ci/effects/BuildkiteAgent") {
  static readonly layer = Layer.effect(
    BuildkiteAgent,
    Effect.gen(function*() {
      const runner = yield* Process

      const agent = (operation: string, args: ReadonlyArray<string>, stdin?: string) =>
        runner.run("buildkite-agent", args, { stdin, timeout: "5 minutes" }).pipe(
          Effect.map((result) => result.stdout),
          Effect.mapError((cause) => new BuildkiteAgentError({ operation, cause }))
        )

      const uploadPipeline = Effect.fn("BuildkiteAgent.uploadPipeline")((document: string) =>
        agent("pipeline upload", ["pipeline", "upload"], document).pipe(Effect.asVoid)
      )

      // Values go on stdin: no limit on argument length, and nothing in `ps`.
      const setMetaData = Effect.fn("BuildkiteAgent.setMetaData")((key: string, value: string) =>
        agent("meta-data set", ["meta-data", "set", key], metaDataValue(value)).pipe(Effect.asVoid)
      )

      const getMetaData = Effect.fn("BuildkiteAgent.getMetaData")((key: string) => agent("meta-data get", ["meta-data", "get", key]))

      const annotate = Effect.fn("BuildkiteAgent.annotate")((
        body: string,
        options: { readonly style: AnnotationStyle; readonly context: string; readonly append?: boolean }
      ) =>
        agent("annotate", [
          "annotate",
          "--style",
          options.style,
          // Buildkite takes at most 100 characters of context.
          "--context",
          options.context.slice(0, 100),
          ...(options.append === true ? ["--append"] : [])
        ], body).pipe(Effect.asVoid)
      )

      return BuildkiteAgent.of({ uploadPipeline, setMetaData, getMetaData, annotate })
    })
  )
}
