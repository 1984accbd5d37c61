import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nodeBinary, stubBin, toolArgs } from "./paths.ts"

export interface ToolRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** Every call the stand-in buildkite-agent received, in order. */
  readonly agentCalls: ReadonlyArray<{ readonly args: ReadonlyArray<string>; readonly stdin: string }>
}

// Variables that would make a run inside a real Buildkite job behave differently.
const ambient = /^(BUILDKITE|DENBEIGH_|STEP_DATA$|TOOL_TARGET$|CI_PLUGIN$|CI_BUILDKITE_|CI_NIX_|CI_SYSTEM_TAG$)/

interface ToolOptions {
  readonly cwd: string
  readonly env?: Readonly<Record<string, string>>
  /** The directory where the stand-in agent keeps meta-data; share one between runs of one build. */
  readonly agentState?: string
  /** A command the tool runs under, such as one giving it a Nix store of its own (`unshare …`). */
  readonly wrapper?: ReadonlyArray<string>
  /** Start even `tool plan` from the loader, not from its snapshot. */
  readonly fromLoader?: boolean
}

/** The command line and environment of a run, and how to read the stand-in agent's calls after it. */
const prepare = (args: ReadonlyArray<string>, options: ToolOptions) => {
  const scratch = mkdtempSync(join(tmpdir(), "ci-agent-"))
  const log = join(scratch, "calls.jsonl")
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ambient.test(key)))
  const [command, ...prefix] = [...(options.wrapper ?? []), nodeBinary]
  return {
    command: command!,
    args: [...prefix, ...toolArgs(args, options.fromLoader)],
    env: {
      ...inherited,
      PATH: `${stubBin}:${process.env.PATH}`,
      CI_TEST_AGENT_LOG: log,
      CI_TEST_AGENT_STATE: options.agentState ?? join(scratch, "meta-data"),
      ...options.env
    },
    agentCalls: (): ToolRun["agentCalls"] =>
      existsSync(log)
        ? readFileSync(log, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
        : []
  }
}

/** Run the bundled CLI as a user would, with the stand-in buildkite-agent first on PATH. */
export const runTool = (args: ReadonlyArray<string>, options: ToolOptions): ToolRun => {
  const run = prepare(args, options)
  const result = spawnSync(run.command, run.args, { cwd: options.cwd, encoding: "utf8", env: run.env, maxBuffer: 256 * 1024 * 1024 })
  if (result.error !== undefined) throw result.error
  return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, agentCalls: run.agentCalls() }
}

/** `runTool` without blocking the event loop: for runs that talk to a stand-in server in this process. */
export const runToolAsync = (args: ReadonlyArray<string>, options: ToolOptions): Promise<ToolRun> => {
  const run = prepare(args, options)
  const child = spawn(run.command, run.args, { cwd: options.cwd, env: run.env })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => resolve({ exitCode: code ?? -1, stdout, stderr, agentCalls: run.agentCalls() }))
  })
}
