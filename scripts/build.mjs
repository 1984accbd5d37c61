// Bundles the CLI into dist/tool.mjs: one file starts several times faster than
// Node loading effect's hundreds of modules (see bench/startup).
import { build } from "esbuild"
import { readFile, rename } from "node:fs/promises"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const { version } = JSON.parse(await readFile(`${root}/package.json`, "utf8"))
// Write beside the target and rename, so a concurrent run never sees half a file.
const temporary = `${root}/dist/tool.${process.pid}.mjs`
await build({
  entryPoints: [`${root}/src/cli.ts`],
  outfile: temporary,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  define: { CI_VERSION: JSON.stringify(version) },
  // Some dependencies are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})
await rename(temporary, `${root}/dist/tool.mjs`)
