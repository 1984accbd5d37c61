import { afterEach, assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { ciCommands, deployBuild, readRequest } from "../../src/bot/commands.ts"
import { metaDataKeys } from "../../src/domain/metaData.ts"
import {
  approverId,
  BotProcess,
  type BotOptions,
  commandInteraction,
  discordBotToken,
  signInteraction,
  strangerId
} from "../support/botProcess.ts"
import { ciBuild, ciPipeline } from "../support/ciLifecycle.ts"
import { FakeBuildkite } from "../support/fakeBuildkite.ts"
import { FakeDiscord } from "../support/fakeDiscord.ts"
import { nodeBinary, toolArgs } from "../support/paths.ts"

/**
 * The `/ci` commands against `tool bot` as a real process, the Discord-like and
 * Buildkite-like servers, and interactions signed with a real Ed25519 key: who may
 * do what, answers deferred then edited, a slow API, stale and replayed requests,
 * and registering the command.
 */

const running: Array<BotProcess> = []
const servers: Array<FakeDiscord | FakeBuildkite> = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((bot) => bot.kill()))
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The servers, with the default branch's last build carrying its plan's action names. */
const setup = async () => {
  const discord = await new FakeDiscord().start()
  const buildkite = await new FakeBuildkite().start()
  servers.push(discord, buildkite)
  const build = ciBuild("built")
  // Names no flake could declare are in it too: meta-data is what any job of the build wrote.
  const planActions = JSON.stringify(["deployBot", "nightly", "evil\u2028name", "a b", "x".repeat(101)])
  buildkite.set({ ...build, metaData: { ...build.metaData, [metaDataKeys.planActions]: planActions } })
  const database = join(mkdtempSync(join(tmpdir(), "ci-bot-")), "bot.sqlite")
  const options = (extra: Partial<BotOptions> = {}): BotOptions => ({ database, discord, buildkite, ...extra })
  const bot = await BotProcess.start(options())
  running.push(bot)
  return { discord, buildkite, bot, options }
}

type Context = Awaited<ReturnType<typeof setup>>

/** Send a command (or an autocomplete) signed now; its answer, decoded, and its token. */
const send = async (context: Context, ...args: Parameters<typeof commandInteraction>) => {
  const { body, token } = commandInteraction(...args)
  const answer = await context.bot.post("/interactions", body, signInteraction(body))
  assert.strictEqual(answer.status, 200, answer.text)
  return { answer: JSON.parse(answer.text), token, body }
}

/** The edit of a deferred answer, once it comes. */
const editOf = (context: Context, token: string, timeoutMs?: number) => context.discord.answerTo(token, timeoutMs)

const refusal = (content: string) => ({ type: 4, data: { content, flags: 64, allowed_mentions: { parse: [] } } })

describe("tool bot: /ci commands", () => {
  it("offers the last plan's actions while an approver types, then deploys one: deferred, then edited", async () => {
    const context = await setup()
    const choices = await send(context, "deploy", { action: "dep" }, approverId, { autocomplete: "action" })
    assert.deepStrictEqual(choices.answer, { type: 8, data: { choices: [{ name: "deployBot", value: "deployBot" }] } })
    const all = await send(context, "deploy", { action: "" }, strangerId, { autocomplete: "action" })
    assert.deepStrictEqual(all.answer.data.choices.map((choice: { name: string }) => choice.name), ["deployBot", "nightly", "all"])

    const { answer, token } = await send(context, "deploy", { action: "deployBot", ref: "release/1.2" }, approverId)
    assert.deepStrictEqual(answer, { type: 5, data: {} })
    const edit = await editOf(context, token)
    assert.match(edit.content, new RegExp(`^🚀 <@${approverId}> started \\[${ciPipeline} #8\\]\\(https://buildkite.com/[^)]+/builds/8\\): deploy \`deployBot\` at \`release/1.2\`$`))
    assert.deepStrictEqual(edit.allowed_mentions, { parse: [] })
    assert.deepStrictEqual(context.buildkite.created, [{
      pipeline: ciPipeline,
      body: { commit: "HEAD", branch: "release/1.2", message: `Deploy deployBot (requested in Discord by user ${approverId})`, env: { CI_ACTIONS: "deployBot" } }
    }])

    // A commit is built as on the default branch.
    const commit = "0123456789abcdef0123456789abcdef01234567"
    await editOf(context, (await send(context, "deploy", { action: "all", ref: commit }, approverId)).token)
    assert.deepStrictEqual(context.buildkite.created[1]!.body, {
      commit,
      branch: "main",
      message: `Deploy all (requested in Discord by user ${approverId})`,
      env: { CI_ACTIONS: "all" }
    })
  })

  it("refuses /ci deploy and /ci rebuild to anyone but an approver, and starts nothing", async () => {
    const context = await setup()
    assert.deepStrictEqual((await send(context, "deploy", { action: "deployBot" }, strangerId)).answer, refusal("Only the configured approvers can use /ci deploy."))
    assert.deepStrictEqual((await send(context, "rebuild", { build: 7 }, strangerId)).answer, refusal("Only the configured approvers can use /ci rebuild."))
    await sleep(200)
    assert.deepStrictEqual(context.buildkite.created, [])
    assert.deepStrictEqual(context.buildkite.rebuilt, [])
    assert.deepStrictEqual(context.buildkite.requests.filter((request) => request.method !== "GET"), [])
    assert.strictEqual(context.discord.interactionAnswers.size, 0)
  })

  it("names the nearest action for a misspelt one, and refuses a ref that is not one", async () => {
    const context = await setup()
    const { answer, token } = await send(context, "deploy", { action: "deplyBot" }, approverId)
    assert.strictEqual(answer.type, 5)
    assert.strictEqual((await editOf(context, token)).content, "❌ `deplyBot` is not an action of the last plan of `main`; did you mean `deployBot`?")
    for (const [options, reason] of [
      [{ action: "deployBot", ref: "main; rm -rf /" }, "`ref` must be a branch, a tag or a commit: letters, digits and . _ / + @ -"],
      [{ action: "deployBot", ref: "--upload-pack=x" }, "`ref` must be a branch, a tag or a commit: letters, digits and . _ / + @ -"],
      [{ action: "deploy\u2028Bot" }, "`action` must be one action's name (or `all`)"],
      [{ action: "a,b" }, "`action` must be one action's name (or `all`)"]
    ] as const) {
      assert.deepStrictEqual((await send(context, "deploy", options, approverId)).answer, refusal(`❌ ${reason}`))
    }
    assert.deepStrictEqual(context.buildkite.created, [])
  })

  it("rebuilds a build for an approver, and says so when there is no such build", async () => {
    const context = await setup()
    const { answer, token } = await send(context, "rebuild", { build: 7 }, approverId)
    assert.deepStrictEqual(answer, { type: 5, data: {} })
    assert.match((await editOf(context, token)).content, new RegExp(`^🔁 <@${approverId}> rebuilt ${ciPipeline} #7 as \\[#8\\]\\(https://buildkite.com/[^)]+/builds/8\\)$`))
    assert.deepStrictEqual(context.buildkite.rebuilt, [7])
    const missing = await send(context, "rebuild", { build: 99 }, approverId)
    assert.strictEqual((await editOf(context, missing.token)).content, `❌ my-great-org/${ciPipeline}#99 is not a build Buildkite knows`)
  })

  it("shows anyone the latest builds, only to them, of a branch when asked", async () => {
    const context = await setup()
    context.buildkite.set({ id: "b-9", pipeline: ciPipeline, number: 9, state: "failed", branch: "feature", message: "Try `x`\nmore", jobs: [] })
    const { answer, token } = await send(context, "status", {}, strangerId)
    assert.deepStrictEqual(answer, { type: 5, data: { flags: 64 } })
    const edit = await editOf(context, token)
    assert.strictEqual(edit.embeds[0].title, `Latest builds of ${ciPipeline}`)
    const lines = edit.embeds[0].description.split("\n")
    assert.strictEqual(lines.length, 2)
    assert.match(lines[0], /^❌ \[#9\]\(https:\/\/buildkite\.com\/my-great-org\/my-pipeline\/builds\/9\) · `feature` · `abcd0b7` · Try `x` · <t:\d+:R>$/)
    assert.match(lines[1], /^🔄 \[#7\]/)
    assert.deepStrictEqual(edit.allowed_mentions, { parse: [] })

    const feature = await send(context, "status", { branch: "feature" }, strangerId)
    const only = (await editOf(context, feature.token)).embeds[0]
    assert.strictEqual(only.title, `Latest builds of ${ciPipeline} on feature`)
    assert.strictEqual(only.description.split("\n").length, 1)
  })

  it("answers at once however slow Buildkite is, and edits the answer when Buildkite has answered", async () => {
    const context = await setup()
    context.buildkite.delay = 3_000
    const { answer, token } = await send(context, "deploy", { action: "deployBot" }, approverId)
    // The answer came before Buildkite answered anything.
    assert.deepStrictEqual(answer, { type: 5, data: {} })
    assert.deepStrictEqual(context.buildkite.created, [])
    assert.strictEqual(context.discord.interactionAnswers.size, 0)
    assert.match((await editOf(context, token, 30_000)).content, /^🚀 .* deploy `deployBot` at `main`$/)
    assert.strictEqual(context.buildkite.created.length, 1)
  })

  it("refuses a command signed over five minutes ago, or sent again, and does nothing", async () => {
    const context = await setup()
    const { body } = commandInteraction("deploy", { action: "deployBot" }, approverId)
    const stale = String(Math.floor(Date.now() / 1000) - 301)
    assert.deepStrictEqual(await context.bot.post("/interactions", body, signInteraction(body, undefined, stale)), {
      status: 401,
      text: `X-Signature-Timestamp is stale (timestamp "${stale}")`
    })
    const headers = signInteraction(body)
    assert.strictEqual((await context.bot.post("/interactions", body, headers)).status, 200)
    assert.deepStrictEqual(await context.bot.post("/interactions", body, headers), { status: 401, text: "replayed interaction" })
    await sleep(500)
    assert.strictEqual(context.buildkite.created.length, 1, "one build, from the one genuine request")
  })

  it("finishes a deferred answer under way when stopped with SIGTERM, and exits 0", async () => {
    const context = await setup()
    context.buildkite.delay = 1_000
    const { answer, token } = await send(context, "rebuild", { build: 7 }, approverId)
    assert.strictEqual(answer.type, 5)
    assert.strictEqual(await context.bot.stop(), 0)
    assert.match((await editOf(context, token, 0)).content, /^🔁 /)
  })

  it("says the commands are not set up without a pipeline", async () => {
    const context = await setup()
    const bot = await BotProcess.start(context.options({ env: { CI_BOT_BUILDKITE_PIPELINE: "" } }))
    running.push(bot)
    const { body } = commandInteraction("status", {}, approverId)
    const answer = await bot.post("/interactions", body, signInteraction(body))
    assert.deepStrictEqual(JSON.parse(answer.text), refusal("The /ci commands are not set up: set CI_BOT_BUILDKITE_PIPELINE."))
  })
})

const run = promisify(execFile)

describe("tool bot register-commands", () => {
  const register = (discord: FakeDiscord, env: Record<string, string>) => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("CI_BOT_")))
    return run(nodeBinary, toolArgs(["bot", "register-commands"]), {
      env: { ...inherited, CI_BOT_DISCORD_API_URL: discord.url, ...env }
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
    )
  }

  it("replaces the application's commands with /ci, the same each time", async () => {
    const discord = await new FakeDiscord().start()
    servers.push(discord)
    discord.commands = [{ id: "1", name: "old" }]
    const env = { CI_BOT_DISCORD_APPLICATION_ID: "1100000000000000600", CI_BOT_DISCORD_BOT_TOKEN: discordBotToken }
    for (const _ of [1, 2]) {
      const result = await register(discord, env)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.trim(), "registered for application 1100000000000000600: /ci")
      assert.deepStrictEqual(discord.commands.map(({ id: _, ...command }) => command), JSON.parse(JSON.stringify(ciCommands)))
      assert.notInclude(result.stdout + result.stderr, discordBotToken)
    }
    assert.deepStrictEqual(discord.requests.map((request) => `${request.method} ${request.path}`), [
      "PUT /api/v10/applications/1100000000000000600/commands",
      "PUT /api/v10/applications/1100000000000000600/commands"
    ])
  })

  it("names what is missing, exit 2, and asks Discord nothing", async () => {
    const discord = await new FakeDiscord().start()
    servers.push(discord)
    const result = await register(discord, { CI_BOT_DISCORD_BOT_TOKEN: discordBotToken, CI_BOT_DISCORD_APPLICATION_ID: "app" })
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, `CI_BOT_DISCORD_APPLICATION_ID: expected a Discord id (digits), got "app"`)
    assert.deepStrictEqual(discord.requests, [])
  })
})

describe("readRequest and deployBuild", () => {
  const data = (name: string, options: Record<string, unknown>) => ({
    name: "ci",
    options: [{ name, options: Object.entries(options).map(([key, value]) => ({ name: key, value: value as string })) }]
  })

  it("reads each subcommand's options", () => {
    assert.deepStrictEqual(readRequest(data("deploy", { action: "deployBot" })), { _tag: "deploy", action: "deployBot", ref: undefined })
    assert.deepStrictEqual(readRequest(data("rebuild", { build: 7 })), { _tag: "rebuild", build: 7 })
    assert.deepStrictEqual(readRequest(data("status", {})), { _tag: "status", branch: undefined })
    assert.deepStrictEqual(readRequest(data("rebuild", { build: 1.5 })), { _tag: "invalid", reason: "`build` must be a build number" })
    assert.deepStrictEqual(readRequest({ name: "other" }), { _tag: "invalid", reason: "unknown command /other" })
    assert.strictEqual(readRequest(data("status", { branch: "a..b" }))._tag, "invalid")
  })

  it("builds a tag or branch at its tip, a commit on the default branch", () => {
    assert.deepStrictEqual(deployBuild({ action: "x", ref: "v1.2" }, "main", "1").branch, "v1.2")
    assert.deepStrictEqual(deployBuild({ action: "x", ref: undefined }, "main", "1"), {
      commit: "HEAD",
      branch: "main",
      message: "Deploy x (requested in Discord by user 1)",
      env: { CI_ACTIONS: "x" }
    })
  })
})
