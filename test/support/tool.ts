import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nodeBinary, stubBin, toolBundle } from "./paths.ts"

export interface ToolRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** Every call the stand-in buildkite-agent received, in order. */
  readonly agentCalls: ReadonlyArray<{ readonly args: ReadonlyArray<string>; readonly stdin: string }>
}

// Variables that would make a run inside a real Buildkite job behave differently.
const ambient = /^(BUILDKITE|DENBEIGH_|STEP_DATA$|TOOL_TARGET$|CI_PLUGIN$)/

/** Run the bundled CLI as a user would, with the stand-in buildkite-agent first on PATH. */
export const runTool = (
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env?: Readonly<Record<string, string>>
    /** The directory where the stand-in agent keeps meta-data; share one between runs of one build. */
    readonly agentState?: string
    /** A command the tool runs under, such as one giving it a Nix store of its own (`unshare …`). */
    readonly wrapper?: ReadonlyArray<string>
  }
): ToolRun => {
  const scratch = mkdtempSync(join(tmpdir(), "ci-agent-"))
  const log = join(scratch, "calls.jsonl")
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !ambient.test(key)))
  const [command, ...prefix] = [...(options.wrapper ?? []), nodeBinary]
  const result = spawnSync(command!, [...prefix, toolBundle, ...args], {
    cwd: options.cwd,
    encoding: "utf8",
    env: {
      ...inherited,
      PATH: `${stubBin}:${process.env.PATH}`,
      CI_TEST_AGENT_LOG: log,
      CI_TEST_AGENT_STATE: options.agentState ?? join(scratch, "meta-data"),
      ...options.env
    },
    maxBuffer: 256 * 1024 * 1024
  })
  if (result.error !== undefined) throw result.error
  const agentCalls = existsSync(log)
    ? readFileSync(log, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    : []
  return { exitCode: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, agentCalls }
}
