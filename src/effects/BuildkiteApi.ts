import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { Build, type BuildRef, showBuildRef } from "../domain/BuildkiteBuild.ts"

/**
 * Buildkite's REST API, for what the bot needs: a build with its jobs and
 * meta-data, and unblocking a block step. A build is decoded with `Build`
 * (src/domain/BuildkiteBuild.ts), which names only the fields the bot reads.
 * And for what `tool plan` needs to choose its base: a pipeline's builds, filtered.
 */

/** A pipeline, as the REST API's paths name it. */
export interface PipelineRef {
  readonly organization: string
  readonly pipeline: string
}

/** The list's filters, as Buildkite names them: `meta_data` is `meta_data[key]=value`. */
export interface BuildFilter {
  readonly branch?: string
  readonly state?: string
  readonly metaData?: Readonly<Record<string, string>>
  readonly perPage?: number
}

/** A listed build: only what choosing a base reads. */
export const ListedBuild = Schema.Struct({
  number: Schema.Number,
  commit: Schema.String,
  state: Schema.String,
  branch: Schema.optionalKey(Schema.NullOr(Schema.String)),
  web_url: Schema.optionalKey(Schema.NullOr(Schema.String))
})
export type ListedBuild = typeof ListedBuild.Type

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
  /** A pipeline's builds, newest first, that pass the filter. */
  listBuilds(pipeline: PipelineRef, filter: BuildFilter): Effect.Effect<ReadonlyArray<ListedBuild>, BuildkiteApiError>
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

        const listBuilds = Effect.fn("BuildkiteApi.listBuilds")(function*(pipeline: PipelineRef, filter: BuildFilter) {
          const operation = `GET ${pipeline.organization}/${pipeline.pipeline} builds`
          const parameters: Array<readonly [string, string]> = [
            ...(filter.branch === undefined ? [] : [["branch", filter.branch] as const]),
            ...(filter.state === undefined ? [] : [["state", filter.state] as const]),
            ...Object.entries(filter.metaData ?? {}).map(([key, value]) => [`meta_data[${key}]`, value] as const),
            ...(filter.perPage === undefined ? [] : [["per_page", String(filter.perPage)] as const])
          ]
          const response = yield* send(
            operation,
            HttpClientRequest.get(`/v2/organizations/${encodeURIComponent(pipeline.organization)}/pipelines/${encodeURIComponent(pipeline.pipeline)}/builds`).pipe(
              HttpClientRequest.setUrlParams(parameters)
            )
          )
          return yield* HttpClientResponse.schemaBodyJson(Schema.Array(ListedBuild))(response).pipe(
            Effect.mapError((error) => new BuildkiteApiError({ operation, status: response.status, detail: error.message }))
          )
        })

        return BuildkiteApi.of({ getBuild, unblockJob, listBuilds })
      })
    ).pipe(Layer.provide(FetchHttpClient.layer))
}
