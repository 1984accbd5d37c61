// A recording stand-in for buildkite-agent, as tests put it on PATH:
// - appends {args, stdin} to $CI_TEST_AGENT_LOG;
// - keeps meta-data in the directory $CI_TEST_AGENT_STATE, a file a key, so `meta-data get` answers what `set` stored;
// - fails any call whose arguments start with $CI_TEST_AGENT_FAIL (for example "pipeline upload").
const { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require("node:fs")
const { join } = require("node:path")
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
// A file a key: concurrent calls never race on one file.
const keyFile = (key) => join(process.env.CI_TEST_AGENT_STATE, encodeURIComponent(key))
if (args[0] === "meta-data" && args[1] === "set") {
  // The real agent rejects an empty value.
  const value = args[3] ?? stdin
  if (value.trim() === "") {
    process.stderr.write("fatal: meta-data value is empty\n")
    process.exit(1)
  }
  mkdirSync(process.env.CI_TEST_AGENT_STATE, { recursive: true })
  writeFileSync(keyFile(args[2]), value)
}
if (args[0] === "meta-data" && args[1] === "get") {
  if (!existsSync(keyFile(args[2]))) {
    process.stderr.write(`fatal: no meta-data for key "${args[2]}"\n`)
    process.exit(1)
  }
  process.stdout.write(readFileSync(keyFile(args[2]), "utf8"))
}
