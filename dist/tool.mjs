if (process.argv.length === 3 && process.argv[2] === "--version") {
  console.log("tool v0.1.0")
} else {
  const { enableCompileCache } = await import("node:module")
  const { homedir } = await import("node:os")
  const xdg = process.env.XDG_CACHE_HOME
  enableCompileCache?.(`${xdg?.startsWith("/") ? xdg : `${homedir()}/.cache`}/ci/node-compile-cache`)
  await import("./cli-4JLSGCXC.js")
}
