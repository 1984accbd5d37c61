import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runTool } from "../support/tool.ts"

/** `tool bot` refusing to start: exit 2, every problem named, no secret repeated. */

const scratch = mkdtempSync(join(tmpdir(), "ci-bot-config-"))
const complete = {
  CI_BOT_BUILDKITE_WEBHOOK_TOKEN: "webhook-secret-value",
  CI_BOT_BUILDKITE_API_TOKEN: "api-secret-value",
  CI_BOT_DISCORD_WEBHOOK_ID: "1100000000000000042",
  CI_BOT_DISCORD_WEBHOOK_TOKEN: "discord-secret-value",
  CI_BOT_DATABASE: join(scratch, "never-created.sqlite")
}
const bot = (env: Record<string, string>, args: ReadonlyArray<string> = []) => runTool(["bot", ...args], { cwd: scratch, env })
const file = (name: string, text: string) => {
  writeFileSync(join(scratch, name), text)
  return join(scratch, name)
}

describe("tool bot configuration", () => {
  it("names every missing setting at once", () => {
    const run = bot({})
    assert.strictEqual(run.exitCode, 2)
    assert.strictEqual(
      run.stderr,
      [
        "error: bot configuration:",
        "  CI_BOT_BUILDKITE_WEBHOOK_TOKEN: is required",
        "  CI_BOT_BUILDKITE_API_TOKEN: is required",
        "  CI_BOT_DISCORD_WEBHOOK_ID and CI_BOT_DISCORD_WEBHOOK_TOKEN, or CI_BOT_DISCORD_BOT_TOKEN and CI_BOT_DISCORD_CHANNEL_ID: a Discord webhook, or a bot token and a channel, is required",
        ""
      ].join("\n")
    )
  })

  it("names each malformed setting, with what it expected", () => {
    const run = bot({
      ...complete,
      CI_BOT_PORT: "http",
      CI_BOT_DISCORD_WEBHOOK_ID: "my-webhook",
      CI_BOT_BUILDKITE_API_URL: "ftp://api.buildkite.com",
      CI_BOT_DISCORD_PUBLIC_KEY: "abc",
      CI_BOT_DISCORD_APPROVERS: "80351110224678912, @me",
      CI_BOT_DEBOUNCE_MS: "-1",
      CI_BOT_BUILDKITE_PIPELINE: "my-pipeline"
    })
    assert.strictEqual(run.exitCode, 2)
    for (const line of [
      `CI_BOT_DISCORD_WEBHOOK_ID: expected a Discord id (digits), got "my-webhook"`,
      "CI_BOT_DISCORD_PUBLIC_KEY: expected the application's public key: 64 hex digits",
      `CI_BOT_DISCORD_APPROVERS: expected Discord user ids, got "@me"`,
      `CI_BOT_PORT: expected an integer from 0 to 65535, got "http"`,
      `CI_BOT_DEBOUNCE_MS: expected an integer from 0 to 60000, got "-1"`,
      `CI_BOT_BUILDKITE_API_URL: expected an http(s) URL, got "ftp://api.buildkite.com"`,
      `CI_BOT_BUILDKITE_PIPELINE: expected the CI pipeline as organization/pipeline slugs, got "my-pipeline"`
    ]) {
      assert.include(run.stderr, `\n  ${line}\n`)
    }
  })

  it("asks for the channel of a bot token", () => {
    const run = bot({ ...complete, CI_BOT_DISCORD_WEBHOOK_ID: "", CI_BOT_DISCORD_WEBHOOK_TOKEN: "", CI_BOT_DISCORD_BOT_TOKEN: "bot-secret-value" })
    assert.strictEqual(run.exitCode, 2)
    assert.strictEqual(run.stderr, "error: bot configuration: CI_BOT_DISCORD_CHANNEL_ID: is required\n")
  })

  it("reads a settings file, naming its keys, and lets the environment win over it", () => {
    const path = file("settings.json", JSON.stringify({ port: "not a port", webhookSecret: "webhook-secret-value", nope: 1, approvers: [80351110224678912] }))
    const fromFile = bot({ CI_BOT_BUILDKITE_API_TOKEN: "api-secret-value" }, ["--config", path])
    assert.strictEqual(fromFile.exitCode, 2)
    assert.include(fromFile.stderr, `  nope in ${path}: not a setting; the settings are host, port,`)
    assert.include(fromFile.stderr, `  approvers in ${path}: expected a string, a number or a list of strings\n`)

    const fine = file("fine.json", JSON.stringify({ ...Object.fromEntries([["port", "not a port"], ["discordWebhookId", "1100000000000000042"]]) }))
    const overridden = bot({ ...complete, CI_BOT_PORT: "99999" }, ["--config", fine])
    assert.strictEqual(overridden.exitCode, 2)
    assert.strictEqual(overridden.stderr, `error: bot configuration: CI_BOT_PORT: expected an integer from 0 to 65535, got "99999"\n`)

    const viaVariable = bot({ ...complete, CI_BOT_CONFIG: fine })
    assert.strictEqual(viaVariable.stderr, `error: bot configuration: port in ${fine}: expected an integer from 0 to 65535, got "not a port"\n`)
  })

  it("never repeats a secret from a broken file", () => {
    const path = file("broken.json", `{ "webhookSecret": "webhook-secret-value", "buildkiteApiToken": api-secret-value }`)
    const run = bot({}, ["--config", path])
    assert.strictEqual(run.exitCode, 2)
    assert.strictEqual(run.stderr, `error: bot configuration: ${path}: not valid JSON (\`jq . ${path}\` shows where)\n`)
    const missing = bot({}, ["--config", join(scratch, "absent.json")])
    assert.strictEqual(missing.exitCode, 2)
    assert.include(missing.stderr, `${join(scratch, "absent.json")}: cannot be read`)
  })
})
