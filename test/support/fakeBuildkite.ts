import { readFileSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { LocalServer } from "./localServer.ts"
import { repoRoot } from "./paths.ts"

/**
 * A local server that answers like Buildkite's REST API for the calls the bot
 * makes: get a build (with jobs and meta-data), unblock a job, and for its
 * commands create a build and rebuild one; and for both the bot and `tool plan`,
 * list a pipeline's builds, newest first, filtered by branch, state and
 * `meta_data[key]` as Buildkite filters them. Builds are the docs' sample, as
 * each test sets them.
 */

const sample = JSON.parse(readFileSync(`${repoRoot}test/fixtures/buildkite/rest-get-build.docs-sample.json`, "utf8"))

export const apiToken = "buildkite-api-token"

export interface JobSpec {
  readonly id: string
  readonly type?: "script" | "manual" | "trigger" | "waiter"
  readonly label: string
  readonly state: string
  readonly command?: string
  readonly triggered?: { readonly id: string; readonly pipeline: string; readonly number: number }
  readonly unblockedBy?: string
}

export interface BuildSpec {
  readonly id: string
  readonly pipeline: string
  readonly number: number
  readonly state: string
  readonly blocked?: boolean
  readonly env?: Record<string, string>
  readonly metaData?: Record<string, string>
  readonly jobs: ReadonlyArray<JobSpec>
  /** The sample's branch, commit and message unless given. */
  readonly branch?: string
  readonly commit?: string
  readonly message?: string
}

export const organization = "my-great-org"

export const buildUrl = (pipeline: string, number: number) =>
  `https://api.buildkite.com/v2/organizations/${organization}/pipelines/${pipeline}/builds/${number}`

/** A REST build: the docs' sample with these fields. */
export const restBuild = (spec: BuildSpec) => ({
  ...sample,
  id: spec.id,
  number: spec.number,
  url: buildUrl(spec.pipeline, spec.number),
  web_url: `https://buildkite.com/${organization}/${spec.pipeline}/builds/${spec.number}`,
  state: spec.state,
  ...(spec.branch === undefined ? {} : { branch: spec.branch }),
  ...(spec.commit === undefined ? {} : { commit: spec.commit }),
  ...(spec.message === undefined ? {} : { message: spec.message }),
  blocked: spec.blocked ?? false,
  finished_at: ["passed", "failed", "canceled"].includes(spec.state) && spec.blocked !== true ? "2015-05-09T21:08:59.874Z" : null,
  env: spec.env ?? {},
  meta_data: spec.metaData ?? {},
  pipeline: { ...sample.pipeline, name: spec.pipeline, slug: spec.pipeline },
  jobs: spec.jobs.map((job) => ({
    ...sample.jobs[0],
    id: job.id,
    type: job.type ?? "script",
    name: job.label,
    label: job.label,
    step_key: null,
    state: job.state,
    command: job.type === undefined || job.type === "script" ? job.command ?? "true" : null,
    ...(job.triggered === undefined ? {} : {
      triggered_build: {
        id: job.triggered.id,
        number: job.triggered.number,
        url: buildUrl(job.triggered.pipeline, job.triggered.number),
        web_url: `https://buildkite.com/${organization}/${job.triggered.pipeline}/builds/${job.triggered.number}`
      }
    }),
    ...(job.unblockedBy === undefined ? {} : { unblocked_by: { ...sample.creator, name: job.unblockedBy } })
  }))
})

export class FakeBuildkite extends LocalServer {
  readonly builds = new Map<string, BuildSpec>()
  readonly requests: Array<{ method: string; path: string; query: string }> = []
  readonly unblocked: Array<string> = []
  /** HTTP statuses to refuse the next unblocks with, one each, as Buildkite does when the token may not unblock. */
  readonly refuseUnblocks: Array<number> = []
  /** Called when a job is unblocked, to move the build along. */
  onUnblock: (jobId: string) => void = () => {}
  /** The bodies of the builds created through the API (`POST …/builds`), and the numbers rebuilt. */
  readonly created: Array<{ pipeline: string; body: any }> = []
  readonly rebuilt: Array<number> = []
  /** Milliseconds to wait before every answer: a slow API. */
  delay = 0

  get url(): string {
    return this.origin
  }

  set(spec: BuildSpec): void {
    this.builds.set(`${spec.pipeline}/${spec.number}`, spec)
  }

  /** A pipeline's builds as Buildkite lists them: newest first, every filter applied, one page. */
  private list(pipeline: string, query: URLSearchParams): ReadonlyArray<BuildSpec> {
    const metaData = [...query.entries()].flatMap(([key, value]) => {
      const match = /^meta_data\[(.+)\]$/.exec(key)
      return match === null ? [] : [[match[1]!, value] as const]
    })
    const branch = query.get("branch")
    const state = query.get("state")
    return [...this.builds.values()]
      .filter((spec) => spec.pipeline === pipeline)
      .filter((spec) => branch === null || restBuild(spec).branch === branch)
      .filter((spec) => state === null || spec.state === state)
      .filter((spec) => metaData.every(([key, value]) => spec.metaData?.[key] === value))
      .sort((a, b) => b.number - a.number)
      .slice(0, Number(query.get("per_page") ?? "30"))
  }

  /** A new build of the pipeline, numbered after its last, made from `spec`. */
  private add(pipeline: string, spec: Omit<BuildSpec, "id" | "pipeline" | "number">): BuildSpec {
    const number = Math.max(0, ...[...this.builds.values()].filter((build) => build.pipeline === pipeline).map((build) => build.number)) + 1
    const build = { ...spec, id: `0190c0de-0000-4000-8000-${String(number).padStart(12, "0")}`, pipeline, number }
    this.set(build)
    return build
  }

  protected async handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Array<Buffer> = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const url = new URL(request.url ?? "/", "http://localhost")
    const path = url.pathname
    this.requests.push({ method: request.method ?? "", path, query: url.search })
    if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay))
    if (request.headers.authorization !== `Bearer ${apiToken}`) return this.send(response, 401, { message: "Authentication required" })
    const list = /^\/v2\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds$/.exec(path)
    if (list !== null) {
      if (list[1] !== organization) return this.send(response, 404, { message: "Not Found" })
      const pipeline = list[2]!
      if (request.method === "GET") return this.send(response, 200, this.list(pipeline, url.searchParams).map(restBuild))
      if (request.method === "POST") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
        this.created.push({ pipeline, body })
        const build = this.add(pipeline, { state: "scheduled", branch: body.branch, commit: body.commit, message: body.message, env: body.env, jobs: [] })
        return this.send(response, 201, restBuild(build))
      }
    }
    const rebuild = /^\/v2\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds\/(\d+)\/rebuild$/.exec(path)
    if (rebuild !== null && request.method === "PUT") {
      const spec = rebuild[1] === organization ? this.builds.get(`${rebuild[2]}/${rebuild[3]}`) : undefined
      if (spec === undefined) return this.send(response, 404, { message: "Not Found" })
      this.rebuilt.push(spec.number)
      const { id: _, number: __, ...rest } = spec
      return this.send(response, 200, restBuild(this.add(spec.pipeline, { ...rest, state: "scheduled" })))
    }
    const match = /^\/v2\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds\/(\d+)(?:\/jobs\/([^/]+)\/unblock)?$/.exec(path)
    const spec = match === null ? undefined : this.builds.get(`${match[2]}/${match[3]}`)
    if (match === null || match[1] !== organization || spec === undefined) return this.send(response, 404, { message: "Not Found" })
    if (request.method === "GET" && match[4] === undefined) return this.send(response, 200, restBuild(spec))
    if (request.method === "PUT" && match[4] !== undefined) {
      const job = spec.jobs.find((candidate) => candidate.id === match[4])
      if (job?.type !== "manual" || job.state !== "blocked") return this.send(response, 422, { message: "This job can't be unblocked" })
      const refusal = this.refuseUnblocks.shift()
      if (refusal !== undefined) return this.send(response, refusal, { message: "Forbidden" })
      this.unblocked.push(job.id)
      this.onUnblock(job.id)
      return this.send(response, 200, { id: job.id, state: "unblocked" })
    }
    return this.send(response, 405, { message: "Method Not Allowed" })
  }
}
