import { showAttrPath } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import type { Base, CiPlan, OutputChange } from "../plan/Plan.ts"
import type { Pipeline, RenderedCiPipeline } from "./pipeline.ts"
import { markdownText } from "./summary.ts"
import { flakeInputsLine, whyLine, whyTree } from "./why.ts"

/** The plan as a person reads it in a terminal or a Buildkite log. */

const short = (sha: string) => sha.slice(0, 12)
const mark = (ok: boolean) => (ok ? "✓" : "✗")
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

/** A base as one phrase: the commit and why it was chosen, or why there is none. */
const showBase = (base: Base) =>
  base._tag === "Evaluated" ? `${short(base.sha)}, ${base.choice}` : `none (${base.reason})`

/** Why an output changed, in a few words: the first differences, or why they are unknown. */
export const changeWhy = (change: OutputChange): string | undefined => {
  if (change.head === null) return "failed to evaluate"
  if (change.base === null) return "new"
  if (change.whyError !== undefined && change.whyError !== null) return `why unknown: ${change.whyError}`
  if (change.why === undefined) return undefined
  return change.why.length === 0 ? "only store paths differ" : whyLine(change.why)
}

export const ciReport = (plan: CiPlan, { pipeline, metaData }: RenderedCiPipeline, options: { readonly tree?: boolean } = {}): string => {
  const lines: Array<string> = []
  lines.push(`plan for ${plan.system}: head ${short(plan.head)}, base ${showBase(plan.base)}`)
  lines.push(`changed: ${count(plan.changed.length, "output")}`)
  if (plan.flakeInputs !== undefined && plan.flakeInputs.length > 0) lines.push(`  flake inputs updated: ${flakeInputsLine(plan.flakeInputs)}`)
  for (const change of plan.changed) {
    const why = changeWhy(change)
    lines.push(`  ${change.attrPath}${why === undefined ? "" : `: ${why}`}`)
    if (options.tree === true && change.why !== undefined) lines.push(...whyTree(change.why).map((line) => `      ${line}`))
  }
  lines.push(`actions: ${count(plan.actions.length, "action")}`)
  for (const action of plan.actions) {
    const state = !action.triggered ? "not triggered" : action.deployWithheld === undefined ? "triggered" : `triggered, deploy withheld: ${action.deployWithheld}`
    const forced = action.forcedBy === undefined ? "" : ` (forced by ${action.forcedBy})`
    lines.push(`  ${mark(action.triggered)} ${action.name}: ${state}${forced}`)
    if (action.base !== undefined) lines.push(`      changed compared with ${showBase(action.base)}`)
    for (const condition of action.conditions) lines.push(`      ${mark(condition.ok)} ${condition.kind}: ${condition.detail}`)
  }
  lines.push(`checks: ${plan.checks.map((check) => check.name).join(", ") || "none"}`)
  const buildLine = (build: CiPlan["builds"][number]) => `${showAttrPath(build.attrPath)} (${build.reasons.join("; ")})`
  if (plan.otherSystems.length === 0) {
    lines.push(`builds: ${count(plan.builds.length, "derivation")}`)
    for (const build of plan.builds) lines.push(`  ${buildLine(build)}`)
  } else {
    const systems = systemsBuilding(plan)
    lines.push(`builds: ${count(sumOf(systems.map(({ builds }) => builds.length)), "derivation")} on ${count(systems.length, "system")}`)
    for (const { system, builds } of systems) {
      lines.push(`  ${system}: ${count(builds.length, "derivation")}`)
      for (const build of builds) lines.push(`    ${buildLine(build)}`)
    }
  }
  lines.push(`deploys: ${plan.deploys.map((deploy) => `${deploy.action} (${count(deploy.steps.length, "step")}${deploy.system === plan.system ? "" : `, on ${deploy.system}`})`).join(", ") || "none"}`)
  lines.push(`pipeline: ${count(pipeline.steps.length, "step")}`)
  if (metaData.length > 0) lines.push(`the build step reads its installables from meta-data ${metaData[0]!.key} (too many for one command line)`)
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`)
  return lines.join("\n")
}

/**
 * The plan as a Buildkite annotation: the base and why it was chosen, each action's
 * own base, each changed output with why, the warnings. At most `maxOutputs`
 * outputs are listed: the report in the job's log has them all.
 */
export const ciAnnotation = (plan: CiPlan, maxOutputs = 50): { readonly markdown: string; readonly style: "info" | "warning"; readonly context: string } => {
  const lines: Array<string> = []
  lines.push(`**Plan** for \`${plan.head.slice(0, 12)}\`: compared with ${markdownText(showBase(plan.base))}`)
  for (const action of plan.actions) {
    if (action.base !== undefined) lines.push(`- ${markdownText(action.name)}'s changed condition: compared with ${markdownText(showBase(action.base))}`)
  }
  lines.push("", `**Changed:** ${count(plan.changed.length, "output")}`)
  if (plan.flakeInputs !== undefined && plan.flakeInputs.length > 0) lines.push(`- flake inputs updated: ${markdownText(flakeInputsLine(plan.flakeInputs))}`)
  for (const change of plan.changed.slice(0, maxOutputs)) {
    const why = changeWhy(change)
    lines.push(`- ${markdownText(change.attrPath)}${why === undefined ? "" : `: ${markdownText(why)}`}`)
  }
  if (plan.changed.length > maxOutputs) lines.push(`- … and ${plan.changed.length - maxOutputs} more (the plan step's log lists them all)`)
  // With several systems, each builds on its own agents: how many where.
  if (plan.otherSystems.length > 0) {
    lines.push("", `**Builds:** ${systemsBuilding(plan).map(({ system, builds }) => `${count(builds.length, "derivation")} on ${markdownText(system)}`).join(", ")}`)
  }
  if (plan.warnings.length > 0) lines.push("", ...plan.warnings.map((warning) => `⚠️ ${markdownText(warning)}`))
  return { markdown: lines.join("\n"), style: plan.warnings.length > 0 ? "warning" : "info", context: "ci-plan" }
}

// `forcedBy` is the tool's own words (`CI_ACTIONS`, `commit <sha>`); names and reasons are escaped.
const html = (text: string) => text.replace(/[&<>"'`*_[\]\\]/g, (char) => `&#${char.charCodeAt(0)};`)

/** The annotation saying which actions a variable or a commit forced; none when nothing was. */
export const forcedAnnotation = (plan: CiPlan): string | undefined => {
  const forced = plan.actions.filter((action) => action.forcedBy !== undefined)
  if (forced.length === 0) return undefined
  return ["**Forced actions**", ""]
    .concat(forced.map((action) =>
      `- <code>${html(action.name)}</code> by ${action.forcedBy!}${action.triggered ? "" : " (not triggered: another condition does not hold)"}${
        action.deployWithheld === undefined ? "" : ` (deploy withheld: ${html(action.deployWithheld)})`
      }`
    ))
    .join("\n")
}

export const deployReport = (data: StepData, pipeline: Pipeline): string =>
  [`deploy ${data.action}: ${count(data.steps.length, "step")}, pipeline: ${count(pipeline.steps.length, "step")}`]
    .concat(data.steps.map((step) => `  ${step.type === "run" ? `run ${step.name}: ${step.target}` : step.type}`))
    .join("\n")

/** Every build step's builds, by system: the planning system's first. */
const systemsBuilding = (plan: CiPlan) => [{ system: plan.system, builds: plan.builds }, ...plan.otherSystems]

const sumOf = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)

/** `--format json`: what the plan decided and the pipeline it renders. */
export const ciPlanJson = (plan: CiPlan, { pipeline, metaData }: RenderedCiPipeline) => ({
  mode: "ci" as const,
  system: plan.system,
  /** Every system the plan covers, the planning one first. */
  systems: plan.systems ?? [plan.system],
  head: plan.head,
  base: plan.base._tag === "Evaluated" ? plan.base.sha : null,
  baseUnavailable: plan.base._tag === "Unavailable" ? plan.base.reason : null,
  baseChoice: plan.base.choice,
  changed: plan.changed.map((change) => ({ ...change, why: change.why ?? null, whyError: change.whyError ?? null })),
  flakeInputs: plan.flakeInputs ?? [],
  actions: plan.actions.map((action) => ({
    name: action.name,
    triggered: action.triggered,
    base: baseJson(action.base ?? plan.base),
    conditions: action.conditions,
    forcedBy: action.forcedBy ?? null,
    deployWithheld: action.deployWithheld ?? null
  })),
  checks: plan.checks,
  builds: plan.builds.map((build) => ({ attrPath: showAttrPath(build.attrPath), reasons: build.reasons })),
  /** Every build step's builds, by system (the planning system's first). */
  buildsBySystem: Object.fromEntries(
    systemsBuilding(plan).map(({ system, builds }) => [
      system,
      builds.map((build) => ({ attrPath: showAttrPath(build.attrPath), reasons: build.reasons }))
    ])
  ),
  deploys: plan.deploys,
  warnings: plan.warnings,
  pipeline,
  metaData
})

const baseJson = (base: Base) => ({
  commit: base._tag === "Evaluated" ? base.sha : null,
  choice: base.choice,
  unavailable: base._tag === "Unavailable" ? base.reason : null
})

export const deployPlanJson = (data: StepData, pipeline: Pipeline) => ({
  mode: "deploy" as const,
  action: data.action,
  steps: data.steps,
  pipeline
})
