import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
/** The bundle of the working tree (`scripts/build.mjs --outdir build`), which globalSetup builds. */
export const toolBundle = `${repoRoot}build/tool.mjs`
export const nodeBinary = `${repoRoot}node_modules/.bin/node`
/** Node's flags as the package and bin/tool run the tool with them: the tests run what users run. */
export const nodeFlags = readFileSync(`${repoRoot}bin/node-flags`, "utf8").trim().split(/\s+/)
export const stubBin = `${repoRoot}test/support/bin`
/** `tool plan`'s start-up snapshot, which the same build makes (src/cli/snapshot.ts). */
export const planSnapshot = `${repoRoot}build/plan.blob`
/**
 * Node's arguments for `tool ARGS` as bin/tool and the package give them: `tool plan` from its
 * snapshot, unless `fromLoader` (as `node dist/tool.mjs plan` starts it).
 */
export const toolArgs = (args: ReadonlyArray<string>, fromLoader = false): Array<string> => [
  ...nodeFlags,
  ...(args[0] === "plan" && !fromLoader ? ["--snapshot-blob", planSnapshot] : [toolBundle]),
  ...args
]
