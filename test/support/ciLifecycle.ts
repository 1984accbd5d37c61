import type { CheckResult, DeployResult, DerivationResult, Run } from "../../src/domain/results.ts"
import type { BuildSpec, JobSpec } from "./fakeBuildkite.ts"
import { derivationResult as defaultResult } from "./results.ts"

/**
 * One push through `ci`, as Buildkite's REST API would show it at each stage: the
 * CI build (a check, the build step, a trigger) and the deploy build it triggers
 * (a step, a wait, staging, a block, production). Commands and meta-data are
 * the ones `tool plan`, `tool check`, `tool build` and `tool deploy` produce.
 */

export const ciBuildId = "0190c0de-0000-4000-8000-000000000007"
export const deployBuildId = "0190c0de-0000-4000-8000-000000000103"
export const blockJobId = "0190c0de-0000-4000-8000-00000000b10c"
export const ciPipeline = "my-pipeline"
export const deployPipeline = "deploy"

export const stages = ["scheduled", "checking", "building", "built", "deploying", "blocked", "approved", "finished"] as const
export type Stage = typeof stages[number]

const toolCommand = (args: string) => `nix run "\${TOOL_TARGET}" -- ${args}`

const run = (exitCode: number, durationMs: number, outputTail: ReadonlyArray<string> = []): Run => ({
  startedAt: "2026-11-21T10:00:00.000Z",
  durationMs,
  exitCode,
  signal: null,
  error: null,
  outputTail,
  outputTruncated: 0
})

export const checkResult = (name: string, exitCode: number): string =>
  JSON.stringify({
    version: 1,
    kind: "check",
    name,
    target: `.#apps.x86_64-linux.check-${name}`,
    status: exitCode === 0 ? "passed" : "failed",
    run: run(exitCode, 4_200, exitCode === 0 ? [] : ["lint: 2 problems"])
  } satisfies CheckResult)

export const derivationResult = (target: string, status: DerivationResult["status"], extra: Partial<DerivationResult> = {}): string => {
  const name = target.split(".").at(-1)!
  return JSON.stringify(defaultResult({
    target,
    installable: `.#${target}`,
    name,
    drvPath: `/nix/store/00000000000000000000000000000000-${name}.drv`,
    outputs: { out: `/nix/store/11111111111111111111111111111111-${name}` },
    status,
    durationMs: status === "built" ? 12_000 : null,
    exitCode: status === "failed" ? 2 : null,
    ...extra
  }))
}

export const buildSummary = (targets: ReadonlyArray<string>): string =>
  JSON.stringify({
    version: 1,
    kind: "build-summary",
    targets,
    counts: { built: targets.length, cached: 0, substituted: 0, failed: 0, "dependency-failed": 0 },
    durationMs: 30_000
  })

export const deployResult = (name: string, exitCodes: ReadonlyArray<number>): string =>
  JSON.stringify({
    version: 1,
    kind: "deploy",
    name,
    target: `.#apps.x86_64-linux.${name}`,
    status: exitCodes.at(-1) === 0 ? "passed" : "failed",
    attempts: exitCodes.map((code) => run(code, 9_000))
  } satisfies DeployResult)

const targets = ["packages.x86_64-linux.bot", "packages.x86_64-linux.deploy-bot"]

const at = (stage: Stage, from: Stage) => stages.indexOf(stage) >= stages.indexOf(from)

/** The CI build at this stage. Its trigger is asynchronous: it passes once the deploy build exists. */
export const ciBuild = (stage: Stage): BuildSpec => {
  const checked = at(stage, "building")
  const built = at(stage, "built")
  const deploying = at(stage, "deploying")
  const jobs: Array<JobSpec> = [
    {
      id: "job-check-lint",
      label: "Check: Lint bot",
      state: stage === "scheduled" ? "scheduled" : checked ? "passed" : "running",
      command: toolCommand("check --target '.#apps.x86_64-linux.check-lint' --name lint-bot")
    },
    { id: "job-wait-1", type: "waiter", label: "wait", state: checked ? "passed" : "waiting" },
    {
      id: "job-build",
      label: ":nix: Build 2 derivations",
      state: built ? "passed" : checked ? "running" : "waiting",
      command: toolCommand(`build -- ${targets.map((target) => `'.#${target}'`).join(" ")}`)
    },
    { id: "job-wait-2", type: "waiter", label: "wait", state: built ? "passed" : "waiting" },
    {
      id: "job-trigger",
      type: "trigger",
      label: ":rocket: Deploy deployBot",
      state: deploying ? "passed" : built ? "running" : "waiting",
      ...(deploying ? { triggered: { id: deployBuildId, pipeline: deployPipeline, number: 103 } } : {})
    }
  ]
  return {
    id: ciBuildId,
    pipeline: ciPipeline,
    number: 7,
    state: stage === "scheduled" ? "scheduled" : deploying ? "passed" : "running",
    metaData: {
      ...(checked ? { "ci:check:lint-bot": checkResult("lint-bot", 0) } : {}),
      ...(built
        ? {
          "ci:build": buildSummary(targets),
          ...Object.fromEntries(targets.map((target) => [`ci:build:${target}`, derivationResult(target, "built")]))
        }
        : {})
    },
    jobs
  }
}

/** The deploy build at this stage (from "deploying" on). */
export const deployBuild = (stage: Stage): BuildSpec => {
  const blocked = at(stage, "blocked")
  const approved = at(stage, "approved")
  const finished = stage === "finished"
  return {
    id: deployBuildId,
    pipeline: deployPipeline,
    number: 103,
    state: finished ? "passed" : blocked && !approved ? "blocked" : "running",
    blocked: blocked && !approved,
    env: {
      DENBEIGH_MANAGED: "true",
      DENBEIGH_DEPLOY: "true",
      DENBEIGH_DEPLOY_ACTION_NAME: "deployBot",
      DENBEIGH_SOURCE_BUILD_ID: ciBuildId,
      DENBEIGH_SOURCE_PIPELINE: ciPipeline,
      DENBEIGH_SOURCE_BUILD_NUMBER: "7"
    },
    metaData: {
      ...(blocked ? { "ci:deploy:deploy enabled": deployResult("deploy enabled", [0]) } : {}),
      ...(blocked ? { "ci:deploy:deploy-bot-staging": deployResult("deploy-bot-staging", [1, 0]) } : {}),
      ...(finished ? { "ci:deploy:deploy-bot-production": deployResult("deploy-bot-production", [0]) } : {})
    },
    jobs: [
      {
        id: "job-deploy-enabled",
        label: "deploy enabled",
        state: blocked ? "passed" : "running",
        command: toolCommand("deploy --target '.#apps.x86_64-linux.check-deploy-enable' --name 'deploy enabled'")
      },
      { id: "job-deploy-wait", type: "waiter", label: "wait", state: blocked ? "passed" : "waiting" },
      {
        id: "job-deploy-staging",
        label: "CI Bot: staging deploy",
        state: blocked ? "passed" : "waiting",
        command: toolCommand("deploy --target '.#apps.x86_64-linux.deploy-bot-staging' --name deploy-bot-staging --retries 1")
      },
      {
        id: blockJobId,
        type: "manual",
        label: "Continue to CI Bot: production deploy?",
        state: approved ? "unblocked" : blocked ? "blocked" : "waiting",
        ...(approved ? { unblockedBy: "Keith Pitt" } : {})
      },
      {
        id: "job-deploy-production",
        label: "CI Bot: production deploy",
        state: finished ? "passed" : approved ? "running" : "waiting",
        command: toolCommand("deploy --target '.#apps.x86_64-linux.deploy-bot-production' --name deploy-bot-production")
      }
    ]
  }
}
