import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
export const toolBundle = `${repoRoot}dist/tool.mjs`
export const nodeBinary = `${repoRoot}node_modules/.bin/node`
export const stubBin = `${repoRoot}test/support/bin`
