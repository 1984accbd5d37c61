import { Result } from "effect"
import { CommandLine } from "effect/process"
import { deployActionEnv, managedEnv, type SourceBuildEnv } from "../domain/buildEnv.ts"
import { PlanInputError } from "../domain/errors.ts"
import { installable, showAttrPath } from "../domain/installable.ts"
import { type MetaDataEntry, metaDataKeys } from "../domain/metaData.ts"
import { plannedBuildsMetaData } from "../domain/plannedBuilds.ts"
import type { StepData } from "../domain/StepData.ts"
import type { CiPlan } from "../plan/Plan.ts"
import type { Shard } from "../plan/shards.ts"
import { escapePipeline } from "./interpolation.ts"

/**
 * Buildkite pipelines in the shape of the design note: checks, a wait, one build
 * step, a wait, then a trigger per deploying action; and, in the deploy pipeline,
 * the action's own steps. Steps are built from literal text and escaped as a whole
 * by `escapePipeline` before they are rendered.
 */

export interface CommandStep {
  readonly label: string
  readonly key: string
  readonly command: string
  readonly env: Readonly<Record<string, string>>
  readonly agents?: Readonly<Record<string, string>>
  readonly plugins?: ReadonlyArray<string | Readonly<Record<string, Readonly<Record<string, string>>>>>
}

export interface BlockStep {
  readonly block: string
  readonly key: string
  readonly prompt?: string
}

export interface TriggerStep {
  readonly trigger: string
  readonly label: string
  readonly key: string
  readonly async: boolean
  readonly build: {
    readonly message: string
    readonly commit: string
    readonly branch?: string
    readonly env: Readonly<Record<string, string>>
    readonly meta_data: Readonly<Record<string, string>>
  }
}

export type Step = CommandStep | BlockStep | TriggerStep | "wait"

export interface Pipeline {
  readonly steps: ReadonlyArray<Step>
}

/** Where the build came from and how steps reach the tool: read from the environment and flags. */
export interface PipelineSettings {
  /** The flake reference `nix run` uses for the tool, for example `github:denbeigh2000/ci#tool`. */
  readonly toolTarget: string
  readonly deployPipeline: string
  /** The agent tag naming a build step's system, when the plan covers several (`agents: { <tag>: <system> }`). */
  readonly systemTag: string
  /** The Buildkite plugin each command step uses; none when empty. */
  readonly plugin: string | undefined
  readonly repo: string | undefined
  readonly branch: string | undefined
  readonly pipelineSlug: string | undefined
  readonly buildNumber: string | undefined
  readonly buildId: string | undefined
  readonly message: string | undefined
}

/**
 * Shell-quoted words after `nix run "${TOOL_TARGET}" --` (the shell expands TOOL_TARGET
 * from the step's env at run time). A NUL fits in no command line: refused, naming `place`.
 */
const toolCommand = (place: string, args: ReadonlyArray<string>): Result.Result<string, PlanInputError> =>
  Result.map(
    Result.all(args.map((word) =>
      Result.mapError(CommandLine.quote(word), () =>
        new PlanInputError({ place, detail: `${JSON.stringify(word)} contains a NUL character, which no command line can carry` }))
    )),
    (words) => `nix run "\${TOOL_TARGET}" -- ${words.join(" ")}`
  )

/** Step keys: readable, unique, and within the schema's `^[a-zA-Z0-9_\-:.,]+$`, 100 characters. */
export const keyMaker = () => {
  const used = new Set<string>()
  return (prefix: string, name: string): string => {
    const base = `${prefix}-${name}`.replace(/[^a-zA-Z0-9_\-:.,]+/g, "-").replace(/-+$/g, "").slice(0, 90)
    let key = base
    for (let n = 2; used.has(key); n++) key = `${base}-${n}`
    used.add(key)
    return key
  }
}

const commandStep = (
  settings: PipelineSettings,
  step: { readonly label: string; readonly key: string; readonly command: string },
  env: Readonly<Record<string, string>>
): CommandStep => ({
  ...step,
  env: { ...env, TOOL_TARGET: settings.toolTarget },
  ...(settings.plugin === undefined
    ? {}
    // Without settings, the plugin by name alone: `name: null` is no configuration Buildkite documents.
    : { plugins: [settings.repo === undefined ? settings.plugin : { [settings.plugin]: { repo: settings.repo } }] })
})

/** A step for `system`'s agents: `agents: { <CI_SYSTEM_TAG>: <system> }`. */
const onAgentsOf = (settings: PipelineSettings, system: string, step: CommandStep): CommandStep => ({
  ...step,
  agents: { [settings.systemTag]: system }
})

/** Steps separated by waits, leaving out empty groups. */
const inStages = (stages: ReadonlyArray<ReadonlyArray<Step>>): ReadonlyArray<Step> =>
  stages.filter((stage) => stage.length > 0).flatMap((stage, i) => (i === 0 ? stage : ["wait" as const, ...stage]))

/**
 * Beyond this many bytes, the build step's installables travel in meta-data: the
 * agent runs a command as one `bash -c` argument, and Linux caps one argument at 128 KiB.
 */
const inlineInstallablesLimit = 32 * 1024

export interface RenderedCiPipeline {
  readonly pipeline: Pipeline
  /** Meta-data the pipeline's steps read, to be set before it is uploaded. */
  readonly metaData: ReadonlyArray<MetaDataEntry>
}

const countOf = (count: number) => `${count} ${count === 1 ? "derivation" : "derivations"}`

/** `shardsBySystem`: the systems whose builds are split (`src/plan/shards.ts`), each step a shard. */
export const renderCiPipeline = (
  plan: CiPlan,
  settings: PipelineSettings,
  shardsBySystem: ReadonlyMap<string, ReadonlyArray<Shard>> = new Map()
): Result.Result<RenderedCiPipeline, PlanInputError> =>
  Result.gen(function*() {
    const key = keyMaker()
    // With several systems, each step is routed to its system's agents: a build step per
    // system, and checks (whose actions are evaluated for the planning system) to its agents.
    const several = plan.otherSystems.length > 0
    // Routed whenever CI covers several systems, one building or not: any agent may be another system's.
    const routes = several || (plan.systems?.length ?? 1) > 1
    const routed = (step: CommandStep, system: string): CommandStep => routes ? onAgentsOf(settings, system, step) : step
    const checks: Array<Step> = []
    for (const check of plan.checks) {
      const place = `check ${JSON.stringify(check.name)}`
      checks.push(routed(commandStep(settings, {
        label: `Check: ${check.displayName}`,
        key: key("check", check.name),
        command: yield* toolCommand(place, ["check", "--target", installable(plan.flakeDir, check.target), "--name", check.name])
      }, managedEnv("check", false)), plan.system))
    }
    const builds: Array<Step> = []
    const metaData: Array<MetaDataEntry> = []
    for (const [index, { system, builds: planned }] of [{ system: plan.system, builds: plan.builds }, ...plan.otherSystems].entries()) {
      if (planned.length === 0) continue
      // A system's shards, each a step of its own; unsplit, the system's one step.
      const shards = shardsBySystem.get(system)
      const parts = shards === undefined ? [{ builds: planned, shard: undefined }] : shards.map((shard) => {
        const keys = new Set(shard.targets)
        return { builds: planned.filter((build) => keys.has(showAttrPath(build.attrPath))), shard }
      })
      for (const [n, { builds: share, shard }] of parts.entries()) {
        const installables = share.map((build) => installable(plan.flakeDir, build.attrPath))
        const shareText = shard === undefined ? "" : ` (${n + 1}/${parts.length}, ${countOf(shard.derivations.length)}${shard.oversized ? ", all connected: not split" : ""})`
        const buildPlace = `${several ? `the build step for ${JSON.stringify(system)}` : "the build step"}${shard === undefined ? "" : ` (shard ${n + 1} of ${parts.length})`}`
        // By position: a system's name is the flake's to choose, a meta-data key is not.
        const part = [...(several ? [`system-${index}`] : []), ...(shard === undefined ? [] : [`shard-${n + 1}`])].join("-")
        // A shard or a system's step records its summary and annotation as its part, so that
        // steps running at once never overwrite each other's.
        const build = part === "" ? ["build"] : ["build", "--part", part]
        const inline = yield* toolCommand(buildPlace, [...build, "--", ...installables])
        const metaDataKey = part === "" ? metaDataKeys.plannedBuilds : `${metaDataKeys.plannedBuilds}-${part}`
        const viaMetaData = Buffer.byteLength(inline) > inlineInstallablesLimit
        if (viaMetaData) metaData.push(...plannedBuildsMetaData(metaDataKey, installables))
        const step = commandStep(settings, {
          label: shard === undefined
            ? `:nix: Build ${countOf(planned.length)}${several ? ` (${system})` : ""}`
            : `:nix: Build ${system}${shareText}`,
          key: key("build", `${several ? `nix-${system}` : "nix"}${shard === undefined ? "" : `-${n + 1}`}`),
          command: viaMetaData ? yield* toolCommand(buildPlace, [...build, "--from-meta-data", metaDataKey]) : inline
        }, managedEnv("build", false))
        builds.push(routed(step, system))
      }
    }
    const source = [settings.pipelineSlug, settings.buildNumber].every((part) => part !== undefined)
      ? ` from ${settings.pipelineSlug}#${settings.buildNumber}`
      : ""
    const triggers = plan.deploys.map((deploy): TriggerStep => ({
      trigger: settings.deployPipeline,
      label: `:rocket: Deploy ${deploy.action}`,
      key: key("deploy", deploy.action),
      async: true,
      build: {
        message: `Deploy ${deploy.action}${source}${settings.message === undefined ? "" : `: ${firstLine(settings.message)}`}`,
        commit: plan.head,
        ...(settings.branch === undefined ? {} : { branch: settings.branch }),
        env: {
          STEP_DATA: JSON.stringify(deploy),
          DENBEIGH_MANAGED: "true",
          DENBEIGH_DEPLOY: "true",
          [deployActionEnv]: deploy.action,
          TOOL_TARGET: settings.toolTarget,
          ...(settings.repo === undefined ? {} : { BUILDKITE_PLUGIN_CICD_REPO: settings.repo }),
          // The CI build a deploy belongs to: the bot shows both in one message.
          ...(settings.buildId === undefined || settings.pipelineSlug === undefined || settings.buildNumber === undefined ? {} : {
            DENBEIGH_SOURCE_BUILD_ID: settings.buildId,
            DENBEIGH_SOURCE_PIPELINE: settings.pipelineSlug,
            DENBEIGH_SOURCE_BUILD_NUMBER: settings.buildNumber
          } satisfies Omit<SourceBuildEnv, "DENBEIGH_DEPLOY">)
        },
        meta_data: { [metaDataKeys.deployBuild]: "true", [metaDataKeys.deployAction]: deploy.action }
      }
    }))
    return {
      pipeline: escapePipeline({ steps: inStages([checks, builds, triggers]) }),
      metaData
    }
  })

/**
 * The deploy pipeline: the action's steps. `routed` (the flake covers several systems)
 * sends its command steps to the agents of the system it deploys from.
 */
export const renderDeployPipeline = (
  data: StepData,
  settings: PipelineSettings,
  { routed = false }: { readonly routed?: boolean } = {}
): Result.Result<Pipeline, PlanInputError> =>
  Result.gen(function*() {
    const key = keyMaker()
    const env = { ...managedEnv("deploy", true), [deployActionEnv]: data.action }
    const steps: Array<Step> = []
    for (const [i, step] of data.steps.entries()) {
      switch (step.type) {
        case "wait":
          steps.push("wait")
          break
        case "block": {
          const next = data.steps.slice(i + 1).find((later) => later.type === "run")
          steps.push({
            block: step.label ?? (next?.type === "run" ? `Continue to ${next.label}?` : "Continue the deploy?"),
            key: key("block", String(i)),
            ...(step.prompt === null ? {} : { prompt: step.prompt })
          })
          break
        }
        case "run": {
          const run = commandStep(settings, {
            label: step.label,
            key: key("deploy", step.name),
            command: yield* toolCommand(`STEP_DATA.steps[${i}]`, [
              "deploy",
              "--target",
              step.target,
              "--name",
              step.name,
              ...(step.retries > 0 ? ["--retries", String(step.retries)] : [])
            ])
          }, env)
          steps.push(routed ? onAgentsOf(settings, data.system, run) : run)
        }
      }
    }
    return escapePipeline({ steps })
  })

/** The subject line: up to the first line break of any kind YAML or a terminal knows. */
const firstLine = (text: string): string => text.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/, 1)[0]!.trim()
