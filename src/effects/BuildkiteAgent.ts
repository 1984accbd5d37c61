import { Context, Effect, Layer, Schema } from "effect"
import { Process, type ProcessError } from "./Process.ts"

/** Everything the tool tells Buildkite goes through `buildkite-agent`. */

export class BuildkiteAgentError extends Schema.TaggedError<BuildkiteAgentError>()("BuildkiteAgentError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `buildkite-agent ${this.operation} failed: ${this.detail}`
  }
}

export class BuildkiteAgent extends Context.Service<BuildkiteAgent, {
  /**
   * Upload pipeline documents, each within Buildkite's 500-jobs-per-upload limit.
   * Each upload lands right after the uploading job, so they are sent last first.
   */
  uploadPipeline(documents: ReadonlyArray<string>): Effect.Effect<void, BuildkiteAgentError>
}>()("ci/effects/BuildkiteAgent") {
  static readonly layer = Layer.effect(
    BuildkiteAgent,
    Effect.gen(function*() {
      const runner = yield* Process

      const uploadPipeline = Effect.fn("BuildkiteAgent.uploadPipeline")(function*(documents: ReadonlyArray<string>) {
        for (const document of [...documents].reverse()) {
          yield* runner.run("buildkite-agent", ["pipeline", "upload"], { stdin: document, timeout: "5 minutes" }).pipe(
            Effect.mapError((error: ProcessError) => new BuildkiteAgentError({ operation: "pipeline upload", detail: error.message }))
          )
        }
      })

      return BuildkiteAgent.of({ uploadPipeline })
    })
  )
}
