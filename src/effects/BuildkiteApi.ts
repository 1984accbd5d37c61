import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { Build, type BuildRef, showBuildRef } from "../domain/BuildkiteBuild.ts"

/**
 * Buildkite's REST API, for what the bot needs: a build with its jobs and
 * meta-data, and unblocking a block step. A build is decoded with `Build`
 * (src/domain/BuildkiteBuild.ts), which names only the fields the bot reads.
 */

export class BuildkiteApiError extends Schema.TaggedError<BuildkiteApiError>()("BuildkiteApiError", {
  operation: Schema.String,
  status: Schema.NullOr(Schema.Int),
  detail: Schema.String
}) {
  override get message() {
    return `Buildkite API ${this.operation} failed${this.status === null ? "" : ` (HTTP ${this.status})`}: ${this.detail}`
  }
  get transient() {
    return this.status === null || this.status === 429 || this.status >= 500
  }
}

export class BuildkiteApi extends Context.Service<BuildkiteApi, {
  getBuild(ref: BuildRef): Effect.Effect<Build, BuildkiteApiError>
  unblockJob(ref: BuildRef, jobId: string): Effect.Effect<void, BuildkiteApiError>
}>()("ci/effects/BuildkiteApi") {
  static readonly layer = (options: { readonly url: string; readonly token: Redacted.Redacted<string> }) =>
    Layer.effect(
      BuildkiteApi,
      Effect.gen(function*() {
        const client = (yield* HttpClient.HttpClient).pipe(
          HttpClient.mapRequest((request) =>
            request.pipe(
              HttpClientRequest.prependUrl(options.url.replace(/\/$/, "")),
              HttpClientRequest.bearerToken(Redacted.value(options.token)),
              HttpClientRequest.acceptJson
            )
          )
        )
        const path = (ref: BuildRef) =>
          `/v2/organizations/${encodeURIComponent(ref.organization)}/pipelines/${encodeURIComponent(ref.pipeline)}/builds/${ref.number}`

        // Rate limits and server errors pass; anything else is an answer.
        const retry = Schedule.exponential(Duration.millis(200)).pipe(
          Schedule.jittered,
          Schedule.setInputType<BuildkiteApiError>(),
          Schedule.while(({ input, attempt }) => input.transient && attempt <= 3)
        )

        const send = (operation: string, request: HttpClientRequest.HttpClientRequest) =>
          client.execute(request).pipe(
            Effect.mapError((error) => new BuildkiteApiError({ operation, status: null, detail: error.message })),
            Effect.flatMap((response) =>
              response.status >= 200 && response.status < 300
                ? Effect.succeed(response)
                : response.text.pipe(
                  Effect.orElseSucceed(() => ""),
                  Effect.flatMap((text) => Effect.fail(new BuildkiteApiError({ operation, status: response.status, detail: text.slice(0, 500) })))
                )
            ),
            Effect.retry(retry)
          )

        const getBuild = Effect.fn("BuildkiteApi.getBuild")(function*(ref: BuildRef) {
          const response = yield* send(`GET ${showBuildRef(ref)}`, HttpClientRequest.get(path(ref)))
          return yield* HttpClientResponse.schemaBodyJson(Build)(response).pipe(
            Effect.mapError((error) => new BuildkiteApiError({ operation: `GET ${showBuildRef(ref)}`, status: response.status, detail: error.message }))
          )
        })

        const unblockJob = Effect.fn("BuildkiteApi.unblockJob")(function*(ref: BuildRef, jobId: string) {
          yield* send(
            `unblock ${jobId} of ${showBuildRef(ref)}`,
            HttpClientRequest.put(`${path(ref)}/jobs/${encodeURIComponent(jobId)}/unblock`).pipe(HttpClientRequest.bodyJsonUnsafe({ fields: {} }))
          )
        })

        return BuildkiteApi.of({ getBuild, unblockJob })
      })
    ).pipe(Layer.provide(FetchHttpClient.layer))
}
