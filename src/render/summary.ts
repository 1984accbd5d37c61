import { logTails } from "../domain/logTails.ts"
import type { BuildStatus, CheckResult, DeployResult, DerivationResult, Run } from "../domain/results.ts"

/**
 * Each command's results for people: Markdown for a Buildkite annotation, plain
 * text for a terminal or a job log. Pure.
 */

/** A command's results: a Buildkite annotation, and the same for a terminal. */
export interface Summary {
  readonly markdown: string
  readonly text: string
  readonly style: "success" | "error"
  /** The annotation's context: one per command and name, so results do not overwrite each other. */
  readonly context: string
}

export const formatDuration = (ms: number | null): string => {
  if (ms === null) return ""
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
}

/** How a run ended, in a few words: `passed`, `exit code 3`, `killed by SIGKILL`, or why it never ran. */
export const runOutcome = (run: Run): string =>
  run.error !== null
    ? run.error
    : run.signal !== null
    ? `killed by ${run.signal}`
    : run.exitCode === 0
    ? "passed"
    : `exit code ${run.exitCode}`

/** The last lines of a log, indented under the line that introduces them. */
export const indentedTail = (lines: ReadonlyArray<string>): ReadonlyArray<string> => lines.slice(-logTails.shown).map((line) => `  ${line}`)

/**
 * Text in Markdown (Buildkite's annotations, Discord's messages): every ASCII
 * character either could read as syntax or HTML, backslash-escaped, which both read
 * as the character itself; on one line.
 */
export const markdownText = (text: string): string =>
  text.replace(/\s*[\r\n]+\s*/g, " ").replace(/[\\`*_~|<>[\]()#!]/g, (c) => `\\${c}`)

/** Text in a Markdown table cell: no pipes or line breaks, no HTML. */
const cell = (text: string): string =>
  text.replace(/[\\|]/g, (c) => `\\${c}`).replace(/</g, "&lt;").replace(/\r?\n/g, " ")

/** Inline code that survives backticks in the text. */
const code = (text: string): string => {
  const fence = "`".repeat(Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length)) + 1)
  return `${fence}${fence.length > 1 ? " " : ""}${cell(text)}${fence.length > 1 ? " " : ""}${fence}`
}

/** A collapsed block of log lines, fenced longer than any fence inside it. */
const details = (summary: string, lines: ReadonlyArray<string>, truncated: number, footer?: string): string => {
  const longest = Math.max(2, ...lines.flatMap((line) => [...line.matchAll(/`+/g)].map((m) => m[0].length)))
  const fence = "`".repeat(longest + 1)
  const cut = truncated > 0 ? [`… ${truncated} earlier lines`] : []
  return [
    `<details><summary>${cell(summary)}</summary>`,
    "",
    fence,
    ...cut,
    ...lines.map((line) => line.replace(/<\/details>/gi, "&lt;/details>")),
    fence,
    ...(footer === undefined ? [] : ["", footer]),
    "</details>"
  ].join("\n")
}

export const checkSummary = (result: CheckResult): Summary => {
  const passed = result.status === "passed"
  const headline = `${passed ? "✅" : "❌"} Check ${result.name} ${passed ? "passed" : `failed: ${runOutcome(result.run)}`} in ${formatDuration(result.run.durationMs)}`
  return {
    style: passed ? "success" : "error",
    context: `ci-check-${result.name}`,
    markdown: [
      `**${cell(headline)}**`,
      ...(passed ? [] : ["", details(`Last lines of ${result.target}`, result.run.outputTail, result.run.outputTruncated)])
    ].join("\n"),
    text: [headline, ...(passed ? [] : indentedTail(result.run.outputTail))].join("\n")
  }
}

/** From the first run's start to the last run's end: the waits between retries count too. */
const wallTime = (runs: ReadonlyArray<Run>): number => {
  const first = Date.parse(runs[0]!.startedAt)
  const last = runs.at(-1)!
  const end = Date.parse(last.startedAt) + last.durationMs
  return Number.isNaN(first) || Number.isNaN(end) || end < first ? runs.reduce((total, run) => total + run.durationMs, 0) : end - first
}

export const deploySummary = (result: DeployResult): Summary => {
  const passed = result.status === "passed"
  const last = result.attempts.at(-1)!
  const tries = result.attempts.length === 1 ? "" : ` after ${result.attempts.length} attempts`
  const headline = `${passed ? "🚀" : "❌"} Deploy ${result.name} ${passed ? "succeeded" : `failed: ${runOutcome(last)}`}${tries} in ${formatDuration(wallTime(result.attempts))}`
  const attempts = result.attempts.length === 1
    ? []
    : ["", "| Attempt | Outcome | Duration |", "|---|---|---|", ...result.attempts.map((run, i) => `| ${i + 1} | ${cell(runOutcome(run))} | ${formatDuration(run.durationMs)} |`)]
  return {
    style: passed ? "success" : "error",
    context: `ci-deploy-${result.name}`,
    markdown: [
      `**${cell(headline)}**`,
      ...attempts,
      ...(passed ? [] : ["", details(`Last lines of ${result.target}`, last.outputTail, last.outputTruncated)])
    ].join("\n"),
    text: [
      headline,
      ...(result.attempts.length === 1 ? [] : result.attempts.map((run, i) => `  attempt ${i + 1}: ${runOutcome(run)} (${formatDuration(run.durationMs)})`)),
      ...(passed ? [] : indentedTail(last.outputTail))
    ].join("\n")
  }
}

const statusIcon: Record<BuildStatus, string> = {
  built: "✅",
  cached: "💾",
  substituted: "📦",
  failed: "❌",
  "dependency-failed": "⛔"
}

const statusText = (result: DerivationResult): string => {
  switch (result.status) {
    case "failed":
      return result.exitCode !== null
        ? `failed (exit code ${result.exitCode})`
        : result.signal !== null
        ? `failed (signal ${result.signal})`
        : `failed: ${result.error ?? "unknown error"}`
    case "dependency-failed":
      return `dependency failed: ${result.failedDependencies.join(", ") || "unknown"}`
    default:
      return result.status
  }
}

export const countStatuses = (results: ReadonlyArray<DerivationResult>): Record<BuildStatus, number> => {
  const counts: Record<BuildStatus, number> = { built: 0, cached: 0, substituted: 0, failed: 0, "dependency-failed": 0 }
  for (const result of results) counts[result.status]++
  return counts
}

/** `part`: the share of the builds this step built, when they were split: its own annotation. */
export const buildSummary = (results: ReadonlyArray<DerivationResult>, durationMs: number, part?: string): Summary => {
  const counts = countStatuses(results)
  const failed = counts.failed + counts["dependency-failed"]
  const tally = (Object.entries(counts) as Array<[BuildStatus, number]>)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(", ")
  const headline = `${failed > 0 ? "❌" : "✅"} Build of ${results.length} ${results.length === 1 ? "derivation" : "derivations"} in ${formatDuration(durationMs)}${part === undefined ? "" : ` (part ${part})`}: ${tally || "nothing to do"}`
  const failures = results.filter((result) => result.status === "failed")
  return {
    style: failed > 0 ? "error" : "success",
    context: part === undefined ? "ci-build" : `ci-build-${part}`,
    markdown: [
      `**${cell(headline)}**`,
      "",
      "| | Derivation | Status | Duration |",
      "|---|---|---|---|",
      ...results.map((result) => `| ${statusIcon[result.status]} | ${code(result.target)} | ${cell(statusText(result))} | ${formatDuration(result.durationMs)} |`),
      ...failures.flatMap((result) => [
        "",
        details(
          `${result.target}: ${result.error ?? "failed"}`,
          result.logTail,
          result.logTruncated,
          result.logCommand === null ? undefined : `Whole log: ${code(result.logCommand)}`
        )
      ])
    ].join("\n"),
    text: [
      headline,
      ...results.map((result) =>
        `  ${statusIcon[result.status]} ${result.target}: ${statusText(result)}${result.durationMs === null ? "" : ` (${formatDuration(result.durationMs)})`}`
      )
    ].join("\n")
  }
}
