import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"

/**
 * Buildkite's REST API, for what the bot needs: a build with its jobs and
 * meta-data, and unblocking a block step. Responses are decoded with the schemas
 * below, which name only the fields the bot reads.
 */

const Text = Schema.optionalKey(Schema.NullOr(Schema.String))

export const Job = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  name: Text,
  label: Text,
  step_key: Text,
  state: Text,
  command: Text,
  exit_status: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  web_url: Text,
  started_at: Text,
  finished_at: Text,
  unblocked_by: Schema.optionalKey(Schema.NullOr(Schema.Struct({ name: Text }))),
  triggered_build: Schema.optionalKey(Schema.NullOr(Schema.Struct({ id: Schema.String, number: Schema.Number, url: Schema.String, web_url: Text })))
})
export type Job = typeof Job.Type

export const Build = Schema.Struct({
  id: Schema.String,
  number: Schema.Number,
  url: Schema.String,
  web_url: Schema.String,
  state: Schema.String,
  blocked: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  message: Text,
  commit: Schema.String,
  branch: Text,
  tag: Text,
  env: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
  creator: Schema.optionalKey(Schema.NullOr(Schema.Struct({ name: Text, avatar_url: Text }))),
  author: Schema.optionalKey(Schema.NullOr(Schema.Struct({ name: Text }))),
  created_at: Text,
  started_at: Text,
  finished_at: Text,
  meta_data: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.String))),
  jobs: Schema.optionalKey(Schema.Array(Job)),
  pipeline: Schema.optionalKey(Schema.Struct({ name: Schema.String, slug: Schema.String }))
})
export type Build = typeof Build.Type

/** Where a build is: what the REST API's paths are made of. */
export interface BuildRef {
  readonly organization: string
  readonly pipeline: string
  readonly number: number
}

/** `https://api.buildkite.com/v2/organizations/o/pipelines/p/builds/2` → `{ o, p, 2 }`. */
export const buildRefFromUrl = (url: string): BuildRef | undefined => {
  const match = /\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds\/(\d+)\/?$/.exec(url)
  return match === null ? undefined : { organization: match[1]!, pipeline: match[2]!, number: Number(match[3]) }
}

export const showBuildRef = (ref: BuildRef): string => `${ref.organization}/${ref.pipeline}#${ref.number}`

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
  static readonly make = (options: { readonly url: string; readonly token: Redacted.Redacted<string> }) =>
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
