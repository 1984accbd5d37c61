import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { Build, type BuildRef, showBuildRef } from "../domain/BuildkiteBuild.ts"

/**
 * Buildkite's REST API, for what the bot needs: a build with its jobs and
 * meta-data, unblocking a block step, and for its commands starting a build,
 * rebuilding one and listing the latest. A build is decoded with `Build`
 * (src/domain/BuildkiteBuild.ts), which names only the fields the bot reads.
 * And for what `tool plan` needs to choose its base: a pipeline's builds, filtered.
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

/** What a new build is made of (`POST …/builds`): `commit` may be `HEAD`, the branch's tip. */
export interface NewBuild {
  readonly commit: string
  readonly branch: string
  readonly message: string
  readonly env: Readonly<Record<string, string>>
}

export class BuildkiteApi extends Context.Service<BuildkiteApi, {
  getBuild(ref: BuildRef): Effect.Effect<Build, BuildkiteApiError>
  unblockJob(ref: BuildRef, jobId: string): Effect.Effect<void, BuildkiteApiError>
  /** A pipeline's builds, newest first, that pass the filter (what `tool plan` reads). */
  listBuilds(pipeline: PipelineRef, filter: BuildFilter): Effect.Effect<ReadonlyArray<ListedBuild>, BuildkiteApiError>
  // For the bot's commands (/ci deploy, /ci rebuild, /ci status):
  /** Start a build of the pipeline. */
  createBuild(pipeline: PipelineRef, build: NewBuild): Effect.Effect<Build, BuildkiteApiError>
  /** Start the build again, as the UI's "Rebuild" does: a new build, which is returned. */
  rebuild(ref: BuildRef): Effect.Effect<Build, BuildkiteApiError>
  /** The pipeline's latest builds, newest first, of one branch when given. */
  latestBuilds(pipeline: PipelineRef, options: { readonly branch?: string; readonly count: number }): Effect.Effect<ReadonlyArray<Build>, BuildkiteApiError>
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
        const buildsPath = (pipeline: PipelineRef) =>
          `/v2/organizations/${encodeURIComponent(pipeline.organization)}/pipelines/${encodeURIComponent(pipeline.pipeline)}/builds`
        const path = (ref: BuildRef) => `${buildsPath(ref)}/${ref.number}`

        // Rate limits and server errors pass; anything else is an answer. A request that starts
        // a build is tried again only after a 429, which Buildkite answers before doing anything:
        // after a 5xx or a lost answer the build may exist, and a second would run too.
        const retry = (startsBuild: boolean) =>
          Schedule.exponential(Duration.millis(200)).pipe(
            Schedule.jittered,
            Schedule.setInputType<BuildkiteApiError>(),
            Schedule.while(({ input, attempt }) => (startsBuild ? input.status === 429 : input.transient) && attempt <= 3)
          )

        const send = (operation: string, request: HttpClientRequest.HttpClientRequest, startsBuild = false) =>
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
            Effect.retry(retry(startsBuild))
          )

        const decoded = <A>(schema: Schema.Codec<A, unknown>, operation: string, request: HttpClientRequest.HttpClientRequest, startsBuild = false) =>
          send(operation, request, startsBuild).pipe(
            Effect.flatMap((response) =>
              HttpClientResponse.schemaBodyJson(schema)(response).pipe(
                Effect.mapError((error) => new BuildkiteApiError({ operation, status: response.status, detail: error.message }))
              )
            )
          )

        const getBuild = Effect.fn("BuildkiteApi.getBuild")((ref: BuildRef) => decoded(Build, `GET ${showBuildRef(ref)}`, HttpClientRequest.get(path(ref))))

        const unblockJob = Effect.fn("BuildkiteApi.unblockJob")(function*(ref: BuildRef, jobId: string) {
          yield* send(
            `unblock ${jobId} of ${showBuildRef(ref)}`,
            HttpClientRequest.put(`${path(ref)}/jobs/${encodeURIComponent(jobId)}/unblock`).pipe(HttpClientRequest.bodyJsonUnsafe({ fields: {} }))
          )
        })

        const createBuild = Effect.fn("BuildkiteApi.createBuild")((pipeline: PipelineRef, build: NewBuild) =>
          decoded(
            Build,
            `create a build of ${pipeline.organization}/${pipeline.pipeline}`,
            HttpClientRequest.post(buildsPath(pipeline)).pipe(HttpClientRequest.bodyJsonUnsafe(build)),
            true
          )
        )

        const rebuild = Effect.fn("BuildkiteApi.rebuild")((ref: BuildRef) =>
          decoded(Build, `rebuild ${showBuildRef(ref)}`, HttpClientRequest.put(`${path(ref)}/rebuild`), true)
        )

        const listRequest = (pipeline: PipelineRef, filter: BuildFilter) =>
          HttpClientRequest.get(buildsPath(pipeline)).pipe(
            HttpClientRequest.setUrlParams([
              ...(filter.branch === undefined ? [] : [["branch", filter.branch] as const]),
              ...(filter.state === undefined ? [] : [["state", filter.state] as const]),
              ...Object.entries(filter.metaData ?? {}).map(([key, value]) => [`meta_data[${key}]`, value] as const),
              ...(filter.perPage === undefined ? [] : [["per_page", String(filter.perPage)] as const])
            ])
          )
        const listOperation = (pipeline: PipelineRef) => `list the builds of ${pipeline.organization}/${pipeline.pipeline}`

        const listBuilds = Effect.fn("BuildkiteApi.listBuilds")((pipeline: PipelineRef, filter: BuildFilter) =>
          decoded(Schema.Array(ListedBuild), listOperation(pipeline), listRequest(pipeline, filter))
        )

        const latestBuilds = Effect.fn("BuildkiteApi.latestBuilds")((pipeline: PipelineRef, options: { readonly branch?: string; readonly count: number }) =>
          decoded(
            Schema.Array(Build),
            listOperation(pipeline),
            listRequest(pipeline, { perPage: options.count, ...(options.branch === undefined ? {} : { branch: options.branch }) })
          )
        )

        return BuildkiteApi.of({ getBuild, unblockJob, listBuilds, createBuild, rebuild, latestBuilds })
      })
    ).pipe(Layer.provide(FetchHttpClient.layer))
}
