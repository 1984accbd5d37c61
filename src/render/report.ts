import { showAttrPath } from "../domain/installable.ts"
import type { StepData } from "../domain/StepData.ts"
import type { CiPlan } from "../plan/Plan.ts"
import type { Pipeline, RenderedCiPipeline } from "./pipeline.ts"

/** The plan as a person reads it in a terminal or a Buildkite log. */

const short = (sha: string) => sha.slice(0, 12)
const mark = (ok: boolean) => (ok ? "✓" : "✗")
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

export const ciReport = (plan: CiPlan, { pipeline, metaData }: RenderedCiPipeline): string => {
  const lines: Array<string> = []
  const base = plan.base._tag === "Evaluated" ? short(plan.base.sha) : `none (${plan.base.reason})`
  lines.push(`plan for ${plan.system}: head ${short(plan.head)}, base ${base}`)
  lines.push(`changed: ${count(plan.changed.length, "output")}`)
  for (const change of plan.changed) {
    lines.push(`  ${change.attrPath}${change.base === null ? " (new)" : ""}${change.head === null ? " (failed to evaluate)" : ""}`)
  }
  lines.push(`actions: ${count(plan.actions.length, "action")}`)
  for (const action of plan.actions) {
    const state = !action.triggered ? "not triggered" : action.deployWithheld === undefined ? "triggered" : `triggered, deploy withheld: ${action.deployWithheld}`
    const forced = action.forcedBy === undefined ? "" : ` (forced by ${action.forcedBy})`
    lines.push(`  ${mark(action.triggered)} ${action.name}: ${state}${forced}`)
    for (const condition of action.conditions) lines.push(`      ${mark(condition.ok)} ${condition.kind}: ${condition.detail}`)
  }
  lines.push(`checks: ${plan.checks.map((check) => check.name).join(", ") || "none"}`)
  lines.push(`builds: ${count(plan.builds.length, "derivation")}`)
  for (const build of plan.builds) lines.push(`  ${showAttrPath(build.attrPath)} (${build.reasons.join("; ")})`)
  lines.push(`deploys: ${plan.deploys.map((deploy) => `${deploy.action} (${count(deploy.steps.length, "step")})`).join(", ") || "none"}`)
  lines.push(`pipeline: ${count(pipeline.steps.length, "step")}`)
  if (metaData.length > 0) lines.push(`the build step reads its installables from meta-data ${metaData[0]!.key} (too many for one command line)`)
  for (const warning of plan.warnings) lines.push(`warning: ${warning}`)
  return lines.join("\n")
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

/** `--format json`: what the plan decided and the pipeline it renders. */
export const ciPlanJson = (plan: CiPlan, { pipeline, metaData }: RenderedCiPipeline) => ({
  mode: "ci" as const,
  system: plan.system,
  head: plan.head,
  base: plan.base._tag === "Evaluated" ? plan.base.sha : null,
  baseUnavailable: plan.base._tag === "Unavailable" ? plan.base.reason : null,
  changed: plan.changed,
  actions: plan.actions.map((action) => ({
    name: action.name,
    triggered: action.triggered,
    conditions: action.conditions,
    forcedBy: action.forcedBy ?? null,
    deployWithheld: action.deployWithheld ?? null
  })),
  checks: plan.checks,
  builds: plan.builds.map((build) => ({ attrPath: showAttrPath(build.attrPath), reasons: build.reasons })),
  deploys: plan.deploys,
  warnings: plan.warnings,
  pipeline,
  metaData
})

export const deployPlanJson = (data: StepData, pipeline: Pipeline) => ({
  mode: "deploy" as const,
  action: data.action,
  steps: data.steps,
  pipeline
})
