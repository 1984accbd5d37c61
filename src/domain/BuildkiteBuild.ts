import { Schema } from "effect"

/**
 * A build as Buildkite's REST API gives it, with its jobs, environment and meta-data:
 * what the bot fetches, keeps as its last snapshot of a build (src/effects/Store.ts)
 * and reads again, and builds its message from (src/render/view.ts). The schemas
 * name only the fields the bot reads.
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
