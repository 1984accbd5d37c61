// Loaded with --require by bench/plan (Node started from a snapshot runs --require, not --import): writes this Node process's own peak RSS (bytes)
// to $CI_BENCH_RSS_FILE when it exits. Nix's memory is not counted. CommonJS: an ES module loaded this way starts Node's ES module
// loader first, about 1 ms more of the tool's measured time (`tool plan --help`, 5 runs each: 74.5 against 73.6 ms).
const { writeFileSync } = require("node:fs")

process.on("exit", () => {
  if (process.env.CI_BENCH_RSS_FILE) writeFileSync(process.env.CI_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024))
})
