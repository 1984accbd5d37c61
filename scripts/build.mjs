// Bundles the CLI for Node: <outdir>/tool.mjs, a loader that turns on Node's compile
// cache, then imports the bundle. One file, its compiled code cached, starts in
// about 0.09 s; Node loading effect's modules one by one takes about 0.45 s.
// Each command's work is a chunk of its own (src/cli/lazily.ts), loaded only when it runs:
// `tool bot`'s (discord.js and all) by no other command. `tool plan` starts instead from a V8
// start-up snapshot built from <outdir>/plan-snapshot.cjs (below).
//
//   node scripts/build.mjs             dist/: the committed bundle the Nix package installs
//   node scripts/build.mjs --outdir D  D/: the tests' and bin/tool's bundle of the working tree
//
// The same sources and package-lock.json give the same bytes, wherever and whenever
// this runs: CI rebuilds dist/ in a clean clone and fails if any tracked file changed.
// What decides the output is pinned: esbuild's exact version (package-lock.json), the
// options below, and the version from package.json; no path, time or environment
// reaches it.
import { build } from "esbuild"
import { execFile } from "node:child_process"
import { readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises"
import { isAbsolute, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, promisify } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))
const { values } = parseArgs({ options: { outdir: { type: "string", default: "dist" } } })
const outdir = isAbsolute(values.outdir) ? values.outdir : join(root, values.outdir)
const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"))

// Every file gets a name from its content, so a process still running an older
// bundle never meets a newer file under the same name; the loader, written last
// and renamed into place, says which bundle is current.
// What the bundle and the snapshot's script (below) are built with alike.
const shared = {
  // Paths in the metafile are relative to this, wherever the build is run from.
  absWorkingDir: root,
  // Module paths appear in the bundle relative to the root: a node_modules that is a
  // symlink (a second checkout sharing the first one's) must not change them.
  preserveSymlinks: true,
  bundle: true,
  platform: "node",
  target: "node22",
  minifyWhitespace: true,
  minifySyntax: true,
  // Licence comments stay, in one place at the end of each file, in a fixed order.
  legalComments: "eof",
  logLevel: "warning"
}
const result = await build({
  ...shared,
  // `tool plan` starts its evaluations (prestart) before it loads the rest (cli).
  entryPoints: { cli: join(root, "src/cli.ts"), prestart: join(root, "src/commands/plan/prestart.ts") },
  outdir,
  entryNames: "[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  metafile: true,
  format: "esm",
  define: { CI_VERSION: JSON.stringify(version) },
  // Some dependencies are CommonJS and call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" }
})
const outputs = Object.keys(result.metafile.outputs).map((path) => relative(outdir, join(root, path)))
const entry = outputs.find((path) => /^cli-[A-Z0-9]+\.js$/i.test(path))
const prestartEntry = outputs.find((path) => /^prestart-[A-Z0-9]+\.js$/i.test(path))
// Every command's --help, as the bundle prints it to a pipe and to a terminal (colours, unless
// NO_COLOR), found by walking the SUBCOMMANDS each page lists: the loader prints it without
// loading the bundle, since loading it costs three times Node's own start. Running the bundle
// here is what keeps the pages true to it (and test/cli/help.test.ts checks they are).
const run = promisify(execFile)
const { NO_COLOR: _, ...environment } = process.env
const helpPage = async (path, colour) => {
  const args = [...(colour ? ["--import", "data:text/javascript,process.stdout.isTTY=true"] : []), join(outdir, entry), ...path, "--help"]
  const { stdout, stderr } = await run(process.execPath, args, { env: environment, encoding: "utf8" })
  if (stderr !== "") throw new Error(`tool ${path.join(" ")} --help wrote to stderr: ${stderr}`)
  return stdout
}
const help = {}
const collect = async (path) => {
  const [plain, colour] = await Promise.all([helpPage(path, false), helpPage(path, true)])
  help[JSON.stringify(path)] = [plain, colour]
  const listed = plain.split("\nSUBCOMMANDS\n")[1]?.split("\n\n")[0] ?? ""
  const names = listed.split("\n").map((line) => /^  (\S+)/.exec(line)?.[1]).filter((name) => name !== undefined)
  await Promise.all(names.map((name) => collect([...path, name])))
}
await collect([])
// Sorted, so that the loader's bytes do not depend on which page came back first.
const helpPages = Object.fromEntries(Object.entries(help).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

// `tool plan` starts from a V8 start-up snapshot of its code (src/cli/snapshot.ts): this is
// the one CommonJS script a Node runs to build the blob. A blob fits only the Node binary that
// built it, so none is committed: the Nix package builds its own at install (nix/package.nix),
// and a build of the working tree (bin/tool, the tests) builds one with npm's Node, as
// plan.blob beside the loader, with the flags it runs with (bin/node-flags).
const snapshotScript = "plan-snapshot.cjs"
const snapshotTemporary = join(outdir, `plan-snapshot.${process.pid}.tmp`)
await build({
  ...shared,
  entryPoints: [join(root, "src/cli/snapshot.ts")],
  outfile: snapshotTemporary,
  format: "cjs",
  // The bot (discord.js and all) is not `tool plan`'s: left out, never loaded from here.
  external: ["discord.js", "./src/bot/*"],
  // The code finds nix/ beside itself: a snapshot's code is where its blob is, which Node
  // was given with --snapshot-blob (read when asked, since the blob moves after it is built).
  define: { CI_VERSION: JSON.stringify(version), "import.meta.url": "__ciSnapshot.moduleUrl" },
  banner: {
    js: `var __ciSnapshot = { get moduleUrl() {
  const args = process.execArgv, at = args.findIndex((arg) => arg.startsWith("--snapshot-blob"))
  const blob = args[at].includes("=") ? args[at].slice(args[at].indexOf("=") + 1) : args[at + 1]
  return require("node:url").pathToFileURL(require("node:path").resolve(blob)).href
} };`
  }
})
// One character outside ASCII and V8 holds the whole script as UTF-16: twice its 1.5 MB in the
// snapshot, which every plan deserializes before it can start its evaluations. esbuild escapes
// such characters in strings, not in regular expression literals: write those as \u escapes.
const snapshotSource = await readFile(snapshotTemporary, "utf8")
const wide = /[^\x00-\x7f]/.exec(snapshotSource)
if (wide !== null) {
  await rm(snapshotTemporary, { force: true })
  throw new Error(`${snapshotScript} must be ASCII, but holds ${JSON.stringify(wide[0])} in ${JSON.stringify(snapshotSource.slice(wide.index - 60, wide.index + 20))}`)
}
await rename(snapshotTemporary, join(outdir, snapshotScript))
const snapshotBlob = resolve(outdir) === resolve(root, "dist") ? [] : ["plan.blob"]
if (snapshotBlob.length > 0) {
  const nodeFlags = (await readFile(join(root, "bin/node-flags"), "utf8")).trim().split(/\s+/)
  const blobTemporary = join(outdir, `plan.${process.pid}.tmp`)
  await run(process.execPath, [...nodeFlags, "--snapshot-blob", blobTemporary, "--build-snapshot", join(outdir, snapshotScript)])
  await rename(blobTemporary, join(outdir, "plan.blob"))
}

const loader = join(outdir, `tool.${process.pid}.tmp`)
// The loader: `--version` and every command's `--help` need no code, and Node keeps the bundle's
// compiled code in the tool's cache directory (as the evaluation cache: $XDG_CACHE_HOME/ci).
// It is also the one file an older Node must be able to parse: it says what is wrong in one
// line (exit 2) before the bundle's syntax or a missing import can fail less clearly.
await writeFile(loader, `const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(\`error: tool needs Node >= 22.19, and this is Node \${process.versions.node} (\${process.execPath}); npm ci installs one in node_modules/.bin, or run it with nix run\`)
  process.exit(2)
}
const args = process.argv.slice(2)
const help = ["--help", "-h"].includes(args.at(-1)) ? ${JSON.stringify(helpPages)}[JSON.stringify(args.slice(0, -1))] : undefined
if (args.length === 1 && args[0] === "--version") {
  console.log(${JSON.stringify(`tool v${version}`)})
} else if (help !== undefined) {
  process.stdout.write(help[process.stdout.isTTY === true && !process.env.NO_COLOR ? 1 : 0])
} else {
  const { enableCompileCache } = await import("node:module")
  const { homedir } = await import("node:os")
  const xdg = process.env.XDG_CACHE_HOME
  enableCompileCache?.(\`\${xdg?.startsWith("/") ? xdg : \`\${homedir()}/.cache\`}/ci/node-compile-cache\`)
  if (args[0] === "plan") (await import("./${prestartEntry}")).prestartPlan(args.slice(1))
  await import("./${entry}")
}
`)
await rename(loader, join(outdir, "tool.mjs"))

// Whatever this build did not write goes, and with it any directory left empty: the
// directory holds exactly this build, so a rebuild of the same sources changes nothing. A
// `.tmp` file stays: it is a build running beside this one (bin/tool and the tests at once).
const current = new Set([...outputs, "tool.mjs", snapshotScript, ...snapshotBlob])
const entries = await readdir(outdir, { recursive: true, withFileTypes: true })
for (const file of entries.filter((entry) => !entry.isDirectory() && !entry.name.endsWith(".tmp"))) {
  const path = relative(outdir, join(file.parentPath, file.name))
  if (!current.has(path)) await rm(join(outdir, path))
}
for (const directory of entries.filter((entry) => entry.isDirectory()).reverse()) {
  const path = join(directory.parentPath, directory.name)
  if ((await readdir(path)).length === 0) await rmdir(path)
}
