// A recording stand-in for buildkite-agent: appends {args, stdin} to $CI_TEST_AGENT_LOG
// and fails when the subcommand starts with $CI_TEST_AGENT_FAIL (for example "pipeline upload").
const { appendFileSync, readFileSync } = require("node:fs")
const args = process.argv.slice(2)
let stdin = ""
try {
  stdin = readFileSync(0, "utf8")
} catch {
  // no stdin
}
const log = process.env.CI_TEST_AGENT_LOG
if (log) appendFileSync(log, JSON.stringify({ args, stdin }) + "\n")
const failing = process.env.CI_TEST_AGENT_FAIL
if (failing && args.join(" ").startsWith(failing)) {
  process.stderr.write(`fatal: ${failing} refused by the stand-in\n`)
  process.exit(1)
}
