import { afterEach, assert, describe, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  bodyOf,
  BotProcess,
  type BotOptions,
  deliveries,
  discordBotToken,
  discordWebhookToken,
  setStage,
  webhookSecret
} from "../support/botProcess.ts"
import { apiToken, FakeBuildkite } from "../support/fakeBuildkite.ts"
import { FakeDiscord } from "../support/fakeDiscord.ts"

/**
 * `tool bot`'s log, as a real process writes it: one record per line in the format asked
 * for (logfmt by default, or JSON), one line per event, health checks only at DEBUG,
 * and never a secret.
 */

const secrets = [webhookSecret, apiToken, discordWebhookToken, discordBotToken]

const running: Array<BotProcess> = []
const servers: Array<FakeDiscord | FakeBuildkite> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((bot) => bot.kill()))
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

type LogRecord = Readonly<Record<string, string>>

// A logfmt pair: a bare value (no space, quote or `=`), or a JSON string.
const logfmtPair = /^([^\s="]+)=([^\s"=]*|"(?:[^"\\]|\\.)*")(?: |$)/

/** One logfmt line as its fields; undefined when it is not exactly one record. */
const parseLogfmt = (line: string): LogRecord | undefined => {
  const fields: Record<string, string> = {}
  let rest = line
  while (rest !== "") {
    const pair = logfmtPair.exec(rest)
    if (pair === null) return undefined
    fields[pair[1]!] = pair[2]!.startsWith("\"") ? JSON.parse(pair[2]!) : pair[2]!
    rest = rest.slice(pair[0].length)
  }
  return fields
}

/** One JSON line as its fields (values as text), undefined when it is not one JSON object. */
const parseJson = (line: string): LogRecord | undefined => {
  const value: unknown = JSON.parse(line)
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const fields = Object.entries(value).map(([key, field]) => {
    const flat = key === "annotations" && typeof field === "object" && field !== null ? Object.entries(field) : [[key, field]]
    return flat.map(([name, text]) => [name, typeof text === "string" ? text : JSON.stringify(text)])
  })
  return Object.fromEntries(fields.flat())
}

/** Every line of the output as a record, failing on any line that is not one. */
const records = (output: string, parse: (line: string) => LogRecord | undefined): ReadonlyArray<LogRecord> =>
  output.split("\n").filter((line) => line !== "").map((line) => {
    const record = parse(line)
    assert.isDefined(record, `not one record: ${line}`)
    assert.isString(record!.message, line)
    assert.isString(record!.level, line)
    return record!
  })

/** The message and level of each record, with the fields asked for when present. */
const events = (lines: ReadonlyArray<LogRecord>, ...fields: ReadonlyArray<string>) =>
  lines.map((record) => [record.message, record.level, ...fields.flatMap((field) => (record[field] === undefined ? [] : [`${field}=${record[field]}`]))].join(" "))

/** A bot, a build's webhooks, its message posted and edited, a refused webhook, an ignored ping, health checks, a 429, then SIGTERM. */
const session = async (args: ReadonlyArray<string>) => {
  const discord = await new FakeDiscord().start()
  const buildkite = await new FakeBuildkite().start()
  servers.push(discord, buildkite)
  discord.rateLimitEvery = 2
  const options: BotOptions = { database: join(mkdtempSync(join(tmpdir(), "ci-bot-")), "bot.sqlite"), discord, buildkite, args }
  const bot = await BotProcess.start(options)
  running.push(bot)

  setStage(buildkite, "scheduled")
  const first = deliveries.scheduled[0]!
  assert.strictEqual((await bot.webhook(bodyOf("scheduled", first))).status, 200)
  // Signed with another secret: refused.
  assert.strictEqual((await bot.webhook(bodyOf("scheduled", first), { kind: "signature", secret: "not-the-secret" })).status, 401)
  const ping = JSON.stringify({ event: "ping" })
  assert.strictEqual((await bot.webhook(ping)).status, 200)
  await bot.settled()
  // The build moves on: its message is edited, and the edit meets a 429 first.
  setStage(buildkite, "checking")
  assert.strictEqual((await bot.webhook(bodyOf("checking", deliveries.checking[0]!))).status, 200)
  await bot.settled()
  await bot.health()
  assert.strictEqual(await bot.stop(), 0)
  for (const secret of secrets) assert.notInclude(bot.output, secret)
  return bot.output
}

describe("tool bot's log", () => {
  it("is one logfmt record per line by default, one line per event, without health checks", async () => {
    const lines = records(await session([]), parseLogfmt)
    const said = events(lines, "event", "reason", "discord")
    assert.match(said[0]!, /^listening on http:\/\/127\.0\.0\.1:\d+ INFO discord=webhook$/)
    assert.includeMembers(said, [
      "webhook received INFO event=build.scheduled",
      "webhook refused WARN reason=X-Buildkite-Signature does not match",
      "webhook ignored INFO event=ping reason=pong",
      "refreshed INFO discord=posted",
      "refreshed INFO discord=edited",
      "rate limited WARN",
      "stopping INFO",
      "stopped INFO"
    ])
    assert.isFalse(lines.some((record) => record.message === "health check"), said.join("\n"))
    // The refresh names its build; the webhook too.
    const received = lines.find((record) => record.message === "webhook received")!
    const refreshed = lines.find((record) => record.message === "refreshed")!
    assert.strictEqual(refreshed.build, received.build)
    assert.match(refreshed.build!, /^[\w-]+\/[\w-]+#\d+$/)
  })

  it("is one JSON object per line with --log-format json", async () => {
    const lines = records(await session(["--log-format", "json"]), parseJson)
    const said = events(lines, "event", "discord")
    assert.includeMembers(said, ["webhook received INFO event=build.scheduled", "refreshed INFO discord=posted", "stopped INFO"])
    assert.isFalse(lines.some((record) => record.message === "health check"))
  })

  it("logs health checks at DEBUG, shown with --log-level debug", async () => {
    const lines = records(await session(["--log-level", "debug"]), parseLogfmt)
    const checks = lines.filter((record) => record.message === "health check")
    assert.isAbove(checks.length, 0)
    assert.deepStrictEqual([...new Set(checks.map((record) => record.level))], ["DEBUG"])
  })
})
