import { Option, Schema } from "effect"
import { deployActionEnv } from "../domain/buildEnv.ts"
import type { Build, Job } from "../domain/BuildkiteBuild.ts"
import { bySystem, systemOf } from "../domain/installable.ts"
import { metaDataKeys } from "../domain/metaData.ts"
import { PlanWhyFromJson } from "../domain/planWhy.ts"
import { BuildSummary, CheckResult, DeployResult, DerivationResult } from "../domain/results.ts"
import { formatDuration, markdownText, runOutcome } from "./summary.ts"

/**
 * What one Discord message shows, from Buildkite's builds: the CI build (its
 * checks and its derivations) and the deploy builds it triggered (their steps).
 * Built from a REST snapshot each time, never from webhook payloads, so events
 * that arrive twice or out of order change nothing. Pure.
 */

export type Status = "waiting" | "running" | "passed" | "failed" | "blocked" | "canceled" | "skipped"

export interface Row {
  readonly status: Status
  readonly text: string
}

export interface Section {
  readonly name: string
  readonly rows: ReadonlyArray<Row>
}

export interface BuildView {
  readonly id: string
  readonly title: string
  readonly url: string
  readonly status: Status
  readonly author: { readonly name: string; readonly iconUrl: string | undefined } | undefined
  readonly commit: string
  readonly branch: string | undefined
  readonly message: string | undefined
  /** When the build was created, in Unix seconds. */
  readonly createdAt: number | undefined
  readonly sections: ReadonlyArray<Section>
}

export interface Approval {
  readonly jobId: string
  readonly label: string
  /** The build the block step is in. */
  readonly buildId: string
}

export interface MessageView {
  readonly builds: ReadonlyArray<BuildView>
  readonly approvals: ReadonlyArray<Approval>
}

/** How far along a build is: a finished build (2) is never shown as running (1) again. */
export const rank = (status: Status): number =>
  status === "waiting" ? 0 : status === "running" || status === "blocked" ? 1 : 2

export const buildStatus = (build: Build): Status => {
  if (build.blocked === true && build.state !== "failed" && build.state !== "canceled") return "blocked"
  return stateStatus(build.state)
}

const stateStatus = (state: string | null | undefined): Status => {
  switch (state) {
    case "running":
    case "failing":
    case "canceling":
    case "assigned":
    case "accepted":
    case "timing_out":
      return "running"
    case "passed":
    case "unblocked":
      return "passed"
    case "failed":
    case "waiting_failed":
    case "blocked_failed":
    case "unblocked_failed":
    case "timed_out":
    case "broken":
    case "expired":
      return "failed"
    case "canceled":
      return "canceled"
    case "skipped":
    case "not_run":
      return "skipped"
    case "blocked":
      return "blocked"
    default:
      return "waiting"
  }
}

const env = (build: Build, name: string): string | undefined => {
  const value = build.env?.[name]
  return typeof value === "string" ? value : undefined
}

const decodeMeta = <A>(build: Build, key: string, schema: Schema.Codec<A, string>): A | undefined => {
  const value = build.meta_data?.[key]
  return value === undefined ? undefined : Option.getOrUndefined(Schema.decodeUnknownOption(schema)(value))
}

const label = (job: Job): string => job.label ?? job.name ?? job.step_key ?? job.id

/** The value of `--name` in a command the plan generated (shell-quoted, perhaps). */
const nameIn = (command: string | null | undefined): string | undefined => {
  const match = /--name ('(?:[^']|'\\'')*'|[^\s']+)/.exec(command ?? "")
  if (match === null) return undefined
  const word = match[1]!
  return word.startsWith("'") ? word.slice(1, -1).replaceAll(`'\\''`, "'") : word
}

const runs = (job: Job, verb: string) => (job.command ?? "").includes(` -- ${verb} `)

const checkRow = (build: Build, job: Job): Row => {
  const text = label(job).replace(/^Check: /, "")
  const name = nameIn(job.command)
  const result = name === undefined ? undefined : decodeMeta(build, metaDataKeys.check(name), Schema.fromJsonString(CheckResult))
  if (result === undefined) return { status: stateStatus(job.state), text }
  return {
    status: result.status,
    text: `${text}${result.status === "failed" ? `: ${runOutcome(result.run)}` : ""} (${formatDuration(result.run.durationMs)})`
  }
}

const derivationStatus: Record<DerivationResult["status"], Status> = {
  built: "passed",
  cached: "passed",
  substituted: "passed",
  failed: "failed",
  "dependency-failed": "skipped"
}

/** A build's row, with the system its derivation is for when the summary says. */
interface BuildRow {
  readonly system: string | undefined
  readonly row: Row
}

/**
 * The value of `--part` in a build step's command, when its build set was split: right after
 * `build`, where the plan puts it, never in an installable (whose names a flake chooses).
 */
const partIn = (command: string | null | undefined): string | undefined => / -- build --part '?([A-Za-z0-9_.-]+)'? /.exec(command ?? "")?.[1]

const buildRows = (build: Build, jobs: ReadonlyArray<Job>): ReadonlyArray<BuildRow> => {
  const why = decodeMeta(build, metaDataKeys.planWhy, PlanWhyFromJson)?.lines ?? {}
  // The row is clipped to a line of the field, so the reason comes last, and short.
  const because = (target: string) => {
    const line = Object.hasOwn(why, target) ? why[target] : undefined
    return line === undefined ? "" : ` · ${markdownText(line.length <= 120 ? line : `${line.slice(0, 119)}…`)}`
  }
  const summaryOf = (part: string | undefined) =>
    decodeMeta(build, part === undefined ? metaDataKeys.buildSummary : metaDataKeys.buildPart(part), Schema.fromJsonString(BuildSummary))
  // Each build step's rows in the pipeline's order: a split build set's shards merge into
  // one list, each shard's from its own summary, or its step's state until it has one.
  const steps = new Map<string | undefined, Array<Job>>()
  for (const job of jobs) {
    if (runs(job, "build")) steps.set(partIn(job.command), [...(steps.get(partIn(job.command)) ?? []), job])
  }
  // No build job known: the one summary, and every shard's, in the order of their parts.
  if (steps.size === 0) {
    steps.set(undefined, [])
    const prefix = metaDataKeys.buildPart("")
    const parts = Object.keys(build.meta_data ?? {}).filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
    for (const part of parts.sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) steps.set(part, [])
  }
  return [...steps].flatMap(([part, stepJobs]): ReadonlyArray<BuildRow> => {
    const summary = summaryOf(part)
    // Until its summary comes, a step's state; its label names its system when there are several.
    if (summary === undefined) return stepJobs.map((job) => ({ system: undefined, row: { status: stateStatus(job.state), text: label(job) } }))
    return summary.targets.map((target): BuildRow => ({ system: systemOf(target), row: targetRow(build, target, because) }))
  })
}

const targetRow = (build: Build, target: string, because: (target: string) => string): Row => {
  const result = decodeMeta(build, metaDataKeys.build(target), Schema.fromJsonString(DerivationResult))
  if (result === undefined) return { status: "waiting", text: `\`${target}\`${because(target)}` }
  const what = result.name ?? result.target
  const how = result.status === "failed"
    ? `: ${result.exitCode === null ? result.error ?? "failed" : `exit code ${result.exitCode}`}`
    : result.status === "dependency-failed"
    ? `: ${result.failedDependencies.join(", ")} failed`
    : result.status === "built"
    ? ` (${formatDuration(result.durationMs)})`
    : ` (${result.status})`
  return { status: derivationStatus[result.status], text: `\`${what}\`${how}${because(target)}` }
}

/**
 * Derivations grouped by system when they are for several: a section each, named after
 * it. More systems than `maxSystemSections` share one section, so the message's fields
 * (25 at most) hold every section.
 */
const maxSystemSections = 10

const buildSections = (rows: ReadonlyArray<BuildRow>): ReadonlyArray<Section> => {
  const groups = bySystem(rows, (row) => row.system)
  return groups.length > maxSystemSections
    ? [{ name: "Builds", rows: rows.map((entry) => entry.row) }]
    : groups.map(({ system, items }) => ({
      name: system === undefined ? "Builds" : `Builds (${markdownText(system.length <= 60 ? system : `${system.slice(0, 59)}…`)})`,
      rows: items.map((entry) => entry.row)
    }))
}

const deployRows = (build: Build, jobs: ReadonlyArray<Job>): ReadonlyArray<Row> =>
  jobs.flatMap((job): ReadonlyArray<Row> => {
    if (job.type === "manual") {
      const state = stateStatus(job.state)
      const by = job.unblocked_by?.name
      return [{
        status: state,
        text: state === "blocked" ? `${label(job)}: waiting for approval` : `${label(job)}${by === undefined || by === null ? "" : `: approved by ${by}`}`
      }]
    }
    if (!runs(job, "deploy")) return []
    const name = nameIn(job.command)
    const result = name === undefined ? undefined : decodeMeta(build, metaDataKeys.deploy(name), Schema.fromJsonString(DeployResult))
    const attempts = result === undefined || result.attempts.length < 2 ? "" : ` after ${result.attempts.length} attempts`
    const failure = result?.status === "failed" ? `: ${runOutcome(result.attempts.at(-1)!)}` : ""
    return [{ status: result?.status ?? stateStatus(job.state), text: `${label(job)}${failure}${attempts}` }]
  })

const seconds = (time: string | null | undefined): number | undefined => {
  const parsed = time === null || time === undefined ? NaN : Date.parse(time)
  return Number.isNaN(parsed) ? undefined : Math.floor(parsed / 1000)
}

const common = (build: Build, title: string, sections: ReadonlyArray<Section>): BuildView => {
  const name = build.creator?.name ?? build.author?.name
  return {
    id: build.id,
    title,
    url: build.web_url,
    status: buildStatus(build),
    author: name === undefined || name === null ? undefined : { name, iconUrl: build.creator?.avatar_url ?? undefined },
    commit: build.commit,
    branch: build.tag ?? build.branch ?? undefined,
    message: build.message ?? undefined,
    createdAt: seconds(build.created_at),
    sections: sections.filter((section) => section.rows.length > 0)
  }
}

export const makeView = (root: Build, deploys: ReadonlyArray<Build>): MessageView => {
  const jobs = root.jobs ?? []
  const pipeline = root.pipeline?.name ?? root.pipeline?.slug ?? "build"
  const rootView = common(root, `${pipeline} #${root.number}`, [
    { name: "Checks", rows: jobs.filter((job) => runs(job, "check")).map((job) => checkRow(root, job)) },
    ...buildSections(buildRows(root, jobs))
  ])
  const deployViews = deploys.map((deploy) =>
    common(deploy, `Deploy ${env(deploy, deployActionEnv) ?? ""} · ${deploy.pipeline?.name ?? "deploy"} #${deploy.number}`.replace("  ", " "), [
      { name: "Steps", rows: deployRows(deploy, deploy.jobs ?? []) }
    ])
  )
  const approvals = [root, ...deploys].flatMap((build) =>
    (build.jobs ?? [])
      .filter((job) => job.type === "manual" && job.state === "blocked")
      .map((job) => ({ jobId: job.id, label: label(job), buildId: build.id }))
  )
  return { builds: [rootView, ...deployViews], approvals }
}
