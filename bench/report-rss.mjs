// Loaded with --require by bench/plan (Node started from a snapshot runs --require, not --import): writes this Node process's own peak RSS (bytes)
// to $CI_BENCH_RSS_FILE when it exits. Nix's memory is not counted.
import { writeFileSync } from "node:fs"

process.on("exit", () => {
  if (process.env.CI_BENCH_RSS_FILE) writeFileSync(process.env.CI_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024))
})
