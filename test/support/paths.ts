import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
/** The bundle of the working tree (`scripts/build.mjs --outdir build`), which globalSetup builds. */
export const toolBundle = `${repoRoot}build/tool.mjs`
export const nodeBinary = `${repoRoot}node_modules/.bin/node`
export const stubBin = `${repoRoot}test/support/bin`
