import { Effect, FileSystem, Option, Redacted, Runtime, Schema } from "effect"
import type { PipelineRef } from "../effects/BuildkiteApi.ts"
import type { DiscordTransport } from "../effects/Discord.ts"
import { ExitCode } from "../domain/errors.ts"

/**
 * `tool bot`'s settings: from a JSON file (`CI_BOT_CONFIG`, or --config) and
 * environment variables, a variable winning over the file. Decoded before
 * anything starts; a missing or malformed setting stops the bot with its name.
 * Secrets stay `Redacted` from here on: never printed, never logged.
 */

export class BotConfigError extends Schema.TaggedError<BotConfigError>()("BotConfigError", {
  problems: Schema.Array(Schema.Struct({ setting: Schema.String, detail: Schema.String }))
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    const lines = this.problems.map((problem) => `${problem.setting}: ${problem.detail}`)
    return lines.length === 1 ? `bot configuration: ${lines[0]}` : `bot configuration:\n  ${lines.join("\n  ")}`
  }
}

export interface BotConfig {
  readonly host: string
  readonly port: number
  readonly databasePath: string
  readonly webhookSecret: Redacted.Redacted<string>
  /** How old a signed webhook may be, in seconds. */
  readonly webhookTolerance: number
  readonly maxBodyBytes: number
  readonly debounceMillis: number
  readonly buildkiteApiUrl: string
  readonly buildkiteApiToken: Redacted.Redacted<string>
  readonly discordApiUrl: string
  readonly discord: DiscordTransport
  /** The application's public key, hex; without it, /interactions refuses everything. */
  readonly discordPublicKey: string | undefined
  /** Discord user ids who may approve a blocked deploy, and use `/ci deploy` and `/ci rebuild`. */
  readonly approvers: ReadonlyArray<string>
  /** The CI pipeline the `/ci` commands act on; without it they say they are not set up. */
  readonly pipeline: PipelineRef | undefined
  /** The pipeline's default branch: where `/ci deploy` builds a commit, and whose last plan names the actions. */
  readonly defaultBranch: string
}

/** Each setting: its environment variable, and its key in the file. */
const settings = {
  host: "CI_BOT_HOST",
  port: "CI_BOT_PORT",
  databasePath: "CI_BOT_DATABASE",
  webhookSecret: "CI_BOT_BUILDKITE_WEBHOOK_TOKEN",
  webhookTolerance: "CI_BOT_WEBHOOK_TOLERANCE_SECONDS",
  maxBodyBytes: "CI_BOT_MAX_BODY_BYTES",
  debounceMillis: "CI_BOT_DEBOUNCE_MS",
  buildkiteApiUrl: "CI_BOT_BUILDKITE_API_URL",
  buildkiteApiToken: "CI_BOT_BUILDKITE_API_TOKEN",
  discordApiUrl: "CI_BOT_DISCORD_API_URL",
  discordWebhookId: "CI_BOT_DISCORD_WEBHOOK_ID",
  discordWebhookToken: "CI_BOT_DISCORD_WEBHOOK_TOKEN",
  discordBotToken: "CI_BOT_DISCORD_BOT_TOKEN",
  discordChannelId: "CI_BOT_DISCORD_CHANNEL_ID",
  discordPublicKey: "CI_BOT_DISCORD_PUBLIC_KEY",
  approvers: "CI_BOT_DISCORD_APPROVERS",
  pipeline: "CI_BOT_BUILDKITE_PIPELINE",
  defaultBranch: "CI_BOT_DEFAULT_BRANCH",
  discordApplicationId: "CI_BOT_DISCORD_APPLICATION_ID"
} as const
type Setting = keyof typeof settings

const SettingValue = Schema.Union([Schema.String, Schema.Number, Schema.Array(Schema.String)])
type SettingValue = typeof SettingValue.Type
const isSetting = (key: string): key is Setting => Object.hasOwn(settings, key)

/**
 * The file's settings. Its problems are named by key and position, never by
 * value: a value may be a secret.
 */
const parseSettingsFile = (path: string, text: string): Effect.Effect<Partial<Record<Setting, SettingValue>>, BotConfigError> => {
  const fail = (detail: string) => Effect.fail(new BotConfigError({ problems: [{ setting: path, detail }] }))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Node's message quotes the text around the mistake, which may be a secret.
    return fail(`not valid JSON (\`jq . ${path}\` shows where)`)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail("expected a JSON object of settings")
  const problems = Object.entries(parsed).flatMap(([key, value]) =>
    !isSetting(key)
      ? [{ setting: `${key} in ${path}`, detail: `not a setting; the settings are ${Object.keys(settings).join(", ")}` }]
      : Option.isNone(Schema.decodeUnknownOption(SettingValue)(value))
      ? [{ setting: `${key} in ${path}`, detail: "expected a string, a number or a list of strings" }]
      : []
  )
  return problems.length > 0 ? Effect.fail(new BotConfigError({ problems })) : Effect.succeed(parsed as Partial<Record<Setting, SettingValue>>)
}

/** The settings, from the file and the environment, and helpers that read each one, collecting problems. */
const settingsReader = Effect.fnUntraced(function*(configFile: Option.Option<string>) {
  const fs = yield* FileSystem.FileSystem
  const file = Option.orElse(configFile, () => Option.fromNullishOr(process.env.CI_BOT_CONFIG))
  const fromFile = Option.isNone(file) ? {} : yield* fs.readFileString(file.value).pipe(
    Effect.mapError((error) => new BotConfigError({ problems: [{ setting: file.value, detail: `cannot be read: ${error.message}` }] })),
    Effect.flatMap((text) => parseSettingsFile(file.value, text))
  )

  // Every problem is collected, so one start names them all.
  const problems: Array<{ setting: string; detail: string }> = []
  const problem = <A>(key: Setting | string, detail: string, placeholder: A): A => {
    problems.push({ setting: isSetting(key) ? where(key) : key, detail })
    return placeholder
  }
  // Where a setting was found, to name it in an error.
  const where = (key: Setting) => process.env[settings[key]] !== undefined || Option.isNone(file) || fromFile[key] === undefined ? settings[key] : `${key} in ${file.value}`
  const raw = (key: Setting): string | undefined => {
    const value = process.env[settings[key]] ?? fromFile[key]
    return value === undefined ? undefined : Array.isArray(value) ? value.join(",") : String(value).trim() || undefined
  }
  const required = (key: Setting) => raw(key) ?? problem(key, "is required", "")
  const integer = (key: Setting, fallback: number, min: number, max: number) => {
    const text = raw(key)
    if (text === undefined) return fallback
    const value = Number(text)
    return Number.isInteger(value) && value >= min && value <= max ? value : problem(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`, fallback)
  }
  const url = (key: Setting, fallback: string) => {
    const text = raw(key) ?? fallback
    return URL.canParse(text) && /^https?:/.test(text) ? text : problem(key, `expected an http(s) URL, got ${JSON.stringify(text)}`, fallback)
  }
  const snowflake = (key: Setting) => {
    const value = raw(key)
    if (value === undefined) return problem(key, "is required", "")
    return /^\d{5,25}$/.test(value) ? value : problem(key, `expected a Discord id (digits), got ${JSON.stringify(value)}`, "")
  }

  const done = <A>(value: A) => (problems.length > 0 ? Effect.fail(new BotConfigError({ problems })) : Effect.succeed(value))
  return { raw, required, integer, url, snowflake, problem, done }
})

export const readBotConfig = Effect.fn("readBotConfig")(function*(configFile: Option.Option<string>) {
  const { raw, required, integer, url, snowflake, problem, done } = yield* settingsReader(configFile)
  const webhookSecret = required("webhookSecret")
  const buildkiteApiToken = required("buildkiteApiToken")
  const discord: DiscordTransport = raw("discordBotToken") !== undefined
    ? { _tag: "Bot", token: Redacted.make(required("discordBotToken")), channelId: snowflake("discordChannelId") }
    : raw("discordWebhookId") !== undefined || raw("discordWebhookToken") !== undefined
    ? { _tag: "Webhook", id: snowflake("discordWebhookId"), token: Redacted.make(required("discordWebhookToken")) }
    : problem(
      `${settings.discordWebhookId} and ${settings.discordWebhookToken}, or ${settings.discordBotToken} and ${settings.discordChannelId}`,
      "a Discord webhook, or a bot token and a channel, is required",
      { _tag: "Webhook", id: "", token: Redacted.make("") }
    )
  const publicKey = raw("discordPublicKey")
  if (publicKey !== undefined && !/^[0-9a-f]{64}$/i.test(publicKey)) problem("discordPublicKey", "expected the application's public key: 64 hex digits", undefined)
  const approvers = (raw("approvers") ?? "").split(",").map((id) => id.trim()).filter((id) => id !== "")
  const badApprover = approvers.find((id) => !/^\d{5,25}$/.test(id))
  if (badApprover !== undefined) problem("approvers", `expected Discord user ids, got ${JSON.stringify(badApprover)}`, undefined)

  const config: BotConfig = {
    host: raw("host") ?? "0.0.0.0",
    port: integer("port", 8080, 0, 65535),
    databasePath: raw("databasePath") ?? "ci-bot.sqlite",
    webhookSecret: Redacted.make(webhookSecret),
    webhookTolerance: integer("webhookTolerance", 300, 1, 3600),
    maxBodyBytes: integer("maxBodyBytes", 1024 * 1024, 1024, 64 * 1024 * 1024),
    debounceMillis: integer("debounceMillis", 1000, 0, 60_000),
    buildkiteApiUrl: url("buildkiteApiUrl", "https://api.buildkite.com"),
    buildkiteApiToken: Redacted.make(buildkiteApiToken),
    discordApiUrl: url("discordApiUrl", "https://discord.com/api"),
    discord,
    discordPublicKey: publicKey,
    approvers,
    pipeline: pipelineOf(raw("pipeline"), (detail) => problem("pipeline", detail, undefined)),
    defaultBranch: raw("defaultBranch") ?? "main"
  }
  return yield* done(config)
})

const pipelineOf = (text: string | undefined, bad: (detail: string) => undefined): PipelineRef | undefined => {
  if (text === undefined) return undefined
  const match = /^([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9-]*)$/.exec(text)
  return match === null ? bad(`expected the CI pipeline as organization/pipeline slugs, got ${JSON.stringify(text)}`) : { organization: match[1]!, pipeline: match[2]! }
}

/** What `tool bot register-commands` needs: the application, and a bot token to act as it. */
export const readRegistrationConfig = Effect.fn("readRegistrationConfig")(function*(configFile: Option.Option<string>) {
  const { required, url, snowflake, done } = yield* settingsReader(configFile)
  return yield* done({
    applicationId: snowflake("discordApplicationId"),
    botToken: Redacted.make(required("discordBotToken")),
    discordApiUrl: url("discordApiUrl", "https://discord.com/api")
  })
})
