const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`error: tool needs Node >= 22.19, and this is Node ${process.versions.node} (${process.execPath}); npm ci installs one in node_modules/.bin, or run it with nix run`)
  process.exit(2)
}
if (process.argv.length === 3 && process.argv[2] === "--version") {
  console.log("tool v0.1.0")
} else {
  const { enableCompileCache } = await import("node:module")
  const { homedir } = await import("node:os")
  const xdg = process.env.XDG_CACHE_HOME
  enableCompileCache?.(`${xdg?.startsWith("/") ? xdg : `${homedir()}/.cache`}/ci/node-compile-cache`)
  await import("./cli-ZRE5DCYS.js")
}
