import { type ChildProcess, spawn } from "node:child_process"
import { generateKeyPairSync, sign } from "node:crypto"
import { readFileSync } from "node:fs"
import { signBody } from "../../src/bot/webhookAuth.ts"
import { blockJobId, ciBuild, ciPipeline, deployBuild, type Stage, stages } from "./ciLifecycle.ts"
import { apiToken, type BuildSpec, type FakeBuildkite, organization, restBuild } from "./fakeBuildkite.ts"
import type { FakeDiscord } from "./fakeDiscord.ts"
import { nodeBinary, nodeFlags, repoRoot, toolBundle } from "./paths.ts"

/**
 * `tool bot` as a real process, run from the bundle as users run it, pointed at
 * the fake Discord and Buildkite servers; and what Buildkite and Discord would
 * send it: signed webhooks and signed interactions.
 */

export const webhookSecret = "29b1ff5779c76bd48ba6705eb99ff970"
export const discordWebhookId = "1100000000000000042"
export const discordWebhookToken = "discord-webhook-token"
export const discordBotToken = "bot-token"
export const discordChannelId = "1100000000000000077"
export const approverId = "80351110224678912"
export const strangerId = "80351110224678913"

/** The application's key pair, made here: Discord signs interactions with the private half. */
export const interactionKeys = generateKeyPairSync("ed25519")
const publicKeyHex = Buffer.from(interactionKeys.publicKey.export({ format: "jwk" }).x!, "base64url").toString("hex")

const sampleEnvelope = JSON.parse(readFileSync(`${repoRoot}test/fixtures/buildkite/job.finished.reconstructed.json`, "utf8"))

/** A webhook body as Buildkite sends it: the build without its jobs, and the job for job events. */
export const webhookBody = (event: string, spec: BuildSpec, jobId?: string): string => {
  const { jobs, ...build } = restBuild(spec)
  const job = jobId === undefined ? undefined : jobs.find((candidate: { id: string }) => candidate.id === jobId)
  return JSON.stringify({ event, build, ...(job === undefined ? {} : { job }), pipeline: { ...sampleEnvelope.pipeline, slug: spec.pipeline }, sender: sampleEnvelope.sender })
}

export interface Delivery {
  readonly event: string
  readonly build: "ci" | "deploy"
  readonly job?: string
}

/** What Buildkite sends as the build reaches each stage. */
export const deliveries: Record<Stage, ReadonlyArray<Delivery>> = {
  scheduled: [{ event: "build.scheduled", build: "ci" }, { event: "job.scheduled", build: "ci", job: "job-check-lint" }],
  checking: [{ event: "build.running", build: "ci" }, { event: "job.started", build: "ci", job: "job-check-lint" }],
  building: [{ event: "job.finished", build: "ci", job: "job-check-lint" }, { event: "job.started", build: "ci", job: "job-build" }],
  built: [{ event: "job.finished", build: "ci", job: "job-build" }],
  deploying: [
    { event: "job.finished", build: "ci", job: "job-trigger" },
    { event: "build.finished", build: "ci" },
    { event: "build.scheduled", build: "deploy" },
    { event: "build.running", build: "deploy" },
    { event: "job.started", build: "deploy", job: "job-deploy-enabled" }
  ],
  blocked: [
    { event: "job.finished", build: "deploy", job: "job-deploy-enabled" },
    { event: "job.finished", build: "deploy", job: "job-deploy-staging" },
    { event: "build.finished", build: "deploy" }
  ],
  approved: [{ event: "job.activated", build: "deploy", job: blockJobId }, { event: "job.started", build: "deploy", job: "job-deploy-production" }],
  finished: [{ event: "job.finished", build: "deploy", job: "job-deploy-production" }, { event: "build.finished", build: "deploy" }]
}

/**
 * The push of test/support/ciLifecycle.ts, or for `push` > 0 another one like
 * it: its builds, jobs and numbers renamed, its deploy pointing at its own CI build.
 */
const pushBuild = (spec: BuildSpec, push: number): BuildSpec => {
  if (push === 0) return spec
  const id = (value: string) => `${value}-${push}`
  const number = (value: number) => value + 1000 * push
  const env = spec.env === undefined ? undefined : {
    ...spec.env,
    DENBEIGH_SOURCE_BUILD_ID: id(spec.env.DENBEIGH_SOURCE_BUILD_ID!),
    DENBEIGH_SOURCE_BUILD_NUMBER: String(number(Number(spec.env.DENBEIGH_SOURCE_BUILD_NUMBER)))
  }
  return {
    ...spec,
    id: id(spec.id),
    number: number(spec.number),
    ...(env === undefined ? {} : { env }),
    jobs: spec.jobs.map((job) => ({
      ...job,
      id: id(job.id),
      ...(job.triggered === undefined ? {} : { triggered: { ...job.triggered, id: id(job.triggered.id), number: number(job.triggered.number) } })
    }))
  }
}

/** Move the fake API's builds of a push to `stage`. */
export const setStage = (buildkite: FakeBuildkite, stage: Stage, push = 0) => {
  buildkite.set(pushBuild(ciBuild(stage), push))
  if (stages.indexOf(stage) >= stages.indexOf("deploying")) buildkite.set(pushBuild(deployBuild(stage), push))
}

/** The webhook body of a delivery about a push at `stage`. */
export const bodyOf = (stage: Stage, delivery: Delivery, push = 0) =>
  webhookBody(
    delivery.event,
    pushBuild(delivery.build === "ci" ? ciBuild(stage) : deployBuild(stage), push),
    delivery.job === undefined || push === 0 ? delivery.job : `${delivery.job}-${push}`
  )

export type WebhookAuth =
  | { readonly kind: "signature"; readonly timestamp?: number; readonly secret?: string }
  | { readonly kind: "token"; readonly token?: string }
  | { readonly kind: "headers"; readonly headers: Record<string, string> }

export const webhookHeaders = (body: string, auth: WebhookAuth = { kind: "signature" }): Record<string, string> => {
  switch (auth.kind) {
    case "signature": {
      const timestamp = String(auth.timestamp ?? Math.floor(Date.now() / 1000))
      return { "x-buildkite-signature": `timestamp=${timestamp},signature=${signBody(auth.secret ?? webhookSecret, timestamp, new TextEncoder().encode(body))}` }
    }
    case "token":
      return { "x-buildkite-token": auth.token ?? webhookSecret }
    case "headers":
      return auth.headers
  }
}

let interactionId = 1_100_000_000_000_000_500n

/** A button press on the message, as Discord sends it to the interactions endpoint: each with an id and a token of its own. */
export const buttonPress = (customId: string, userId: string) =>
  JSON.stringify({
    id: String(interactionId),
    application_id: "1100000000000000600",
    type: 3,
    token: `press-token-${interactionId++}`,
    version: 1,
    channel_id: discordChannelId,
    guild_id: "1100000000000000700",
    message: { id: "1100000000000000001" },
    data: { custom_id: customId, component_type: 2 },
    member: { user: { id: userId, username: "someone" }, roles: [] }
  })

let interactionToken = 1

/**
 * A `/ci` command (type 2) or an autocomplete while typing one (type 4), as Discord
 * sends it: `options` are the subcommand's, the focused one marked for autocomplete.
 */
export const commandInteraction = (
  subcommand: string,
  options: Record<string, string | number>,
  userId: string,
  kind: { readonly autocomplete?: string } = {}
) => {
  const token = `interaction-token-${interactionToken++}`
  const body = JSON.stringify({
    id: String(interactionId++),
    application_id: "1100000000000000600",
    type: kind.autocomplete === undefined ? 2 : 4,
    token,
    version: 1,
    channel_id: discordChannelId,
    guild_id: "1100000000000000700",
    data: {
      id: "1100000000000000650",
      name: "ci",
      type: 1,
      options: [{
        name: subcommand,
        type: 1,
        options: Object.entries(options).map(([name, value]) => ({
          name,
          type: typeof value === "number" ? 4 : 3,
          value,
          ...(name === kind.autocomplete ? { focused: true } : {})
        }))
      }]
    },
    member: { user: { id: userId, username: "someone" }, roles: [] }
  })
  return { body, token }
}

export const signInteraction = (body: string, privateKey = interactionKeys.privateKey, timestamp = String(Math.floor(Date.now() / 1000))) => ({
  "x-signature-ed25519": sign(null, Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString("hex"),
  "x-signature-timestamp": timestamp
})

export interface BotOptions {
  readonly database: string
  readonly discord: FakeDiscord
  readonly buildkite: FakeBuildkite
  readonly transport?: "webhook" | "bot"
  readonly env?: Record<string, string>
  /** Another build of the tool to run (a benchmark's baseline), and Node options for it. */
  readonly bundle?: string
  readonly nodeArgs?: ReadonlyArray<string>
  /** Flags of `tool bot` (`--log-format json`). */
  readonly args?: ReadonlyArray<string>
}

export const botEnv = (options: BotOptions): Record<string, string> => ({
  CI_BOT_HOST: "127.0.0.1",
  CI_BOT_PORT: "0",
  CI_BOT_DATABASE: options.database,
  CI_BOT_BUILDKITE_WEBHOOK_TOKEN: webhookSecret,
  CI_BOT_BUILDKITE_API_URL: options.buildkite.url,
  CI_BOT_BUILDKITE_API_TOKEN: apiToken,
  CI_BOT_DISCORD_API_URL: options.discord.url,
  ...(options.transport === "bot"
    ? { CI_BOT_DISCORD_BOT_TOKEN: discordBotToken, CI_BOT_DISCORD_CHANNEL_ID: discordChannelId }
    : { CI_BOT_DISCORD_WEBHOOK_ID: discordWebhookId, CI_BOT_DISCORD_WEBHOOK_TOKEN: discordWebhookToken }),
  CI_BOT_DISCORD_PUBLIC_KEY: publicKeyHex,
  CI_BOT_DISCORD_APPROVERS: approverId,
  CI_BOT_BUILDKITE_PIPELINE: `${organization}/${ciPipeline}`,
  CI_BOT_DEFAULT_BRANCH: "main",
  CI_BOT_DEBOUNCE_MS: "50",
  ...options.env
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class BotProcess {
  output = ""
  readonly child: ChildProcess
  readonly url: string
  private constructor(child: ChildProcess, url: string) {
    this.child = child
    this.url = url
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  /** Start `tool bot` and wait until it says where it listens. */
  static start(options: BotOptions): Promise<BotProcess> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("CI_BOT_")))
    const child = spawn(nodeBinary, [...nodeFlags, ...(options.nodeArgs ?? []), options.bundle ?? toolBundle, "bot", ...(options.args ?? [])], { env: { ...inherited, ...botEnv(options) }, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tool bot did not start:\n${output}`)), 20_000)
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8")
        const listening = /listening on (http:\/\/[^\s,"]+)/.exec(output)
        if (listening !== null) {
          clearTimeout(timer)
          const bot = new BotProcess(child, listening[1]!)
          bot.output = output
          child.stdout!.off("data", onData)
          child.stderr!.off("data", onData)
          child.stdout!.on("data", (more: Buffer) => void (bot.output += more.toString("utf8")))
          child.stderr!.on("data", (more: Buffer) => void (bot.output += more.toString("utf8")))
          resolve(bot)
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.on("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`tool bot exited with ${code} before listening:\n${output}`))
      })
    })
  }

  async post(path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.url}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })
    return { status: response.status, text: await response.text() }
  }

  webhook(body: string, auth?: WebhookAuth) {
    return this.post("/webhooks/buildkite", body, webhookHeaders(body, auth))
  }

  async health(): Promise<{ ok: boolean; pending: number }> {
    return (await fetch(`${this.url}/healthz`)).json() as Promise<{ ok: boolean; pending: number }>
  }

  /** Wait until every build's message has caught up with what the bot was told. */
  async settled(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((await this.health()).pending > 0) {
      if (Date.now() > deadline) throw new Error(`the bot did not settle:\n${this.output}`)
      await sleep(25)
    }
  }

  /** SIGKILL: no clean-up, no flush, as a crash or an OOM kill would leave it. */
  async kill(): Promise<void> {
    if (this.exited) return
    const exited = new Promise((resolve) => this.child.once("exit", resolve))
    this.child.kill("SIGKILL")
    await exited
  }

  async stop(): Promise<number | null> {
    if (this.exited) return this.child.exitCode
    const exited = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)))
    this.child.kill("SIGTERM")
    return exited
  }
}
