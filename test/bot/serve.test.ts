import { afterEach, assert, describe, it } from "@effect/vitest"
import { generateKeyPairSync } from "node:crypto"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import {
  approverId,
  bodyOf,
  BotProcess,
  type BotOptions,
  buttonPress,
  type Delivery,
  deliveries,
  discordBotToken,
  discordWebhookToken,
  setStage,
  signInteraction,
  strangerId,
  webhookBody,
  webhookHeaders,
  webhookSecret
} from "../support/botProcess.ts"
import { blockJobId, ciBuild, deployBuild, type Stage, stages } from "../support/ciLifecycle.ts"
import { apiToken, FakeBuildkite } from "../support/fakeBuildkite.ts"
import { FakeDiscord } from "../support/fakeDiscord.ts"

/**
 * `tool bot` as a real process, between a server that answers like Discord and
 * one that answers like Buildkite's REST API: a build's whole life, delivered in
 * order, duplicated, reversed, interrupted by SIGKILL, ends in one message.
 */

const secrets = [webhookSecret, apiToken, discordWebhookToken, discordBotToken]

interface Setup {
  readonly discord: FakeDiscord
  readonly buildkite: FakeBuildkite
  readonly database: string
  readonly options: (extra?: Partial<BotOptions>) => BotOptions
}

const running: Array<BotProcess> = []
const servers: Array<FakeDiscord | FakeBuildkite> = []

const setup = async (): Promise<Setup> => {
  const discord = await new FakeDiscord().start()
  const buildkite = await new FakeBuildkite().start()
  servers.push(discord, buildkite)
  // Approving moves the deploy on, as Buildkite would.
  buildkite.onUnblock = () => setStage(buildkite, "approved")
  const database = join(mkdtempSync(join(tmpdir(), "ci-bot-")), "bot.sqlite")
  return { discord, buildkite, database, options: (extra = {}) => ({ database, discord, buildkite, ...extra }) }
}

const start = async (options: BotOptions) => {
  const bot = await BotProcess.start(options)
  running.push(bot)
  return bot
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((bot) => bot.kill()))
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

/** What the build's message shows now (the n-th message, after a follow-up). */
const shown = (context: Setup, n = 0) => [...context.discord.messages.values()][n]!.versions.at(-1)

/** Move the fake API to `stage`, deliver one webhook about it, and wait for the message. */
const deliverAt = async (bot: BotProcess, context: Setup, stage: Stage, delivery: Delivery) => {
  setStage(context.buildkite, stage)
  const answer = await bot.webhook(bodyOf(stage, delivery))
  assert.strictEqual(answer.status, 200, answer.text)
  await bot.settled()
}
const fieldLines = (embed: any) => (embed.fields ?? []).flatMap((field: { value: string }) => field.value.split("\n"))
const approveButtons = (body: any): Array<string> =>
  (body.components ?? []).flatMap((row: any) => row.components.map((button: any) => button.custom_id))

/** What the approver sees once Buildkite has answered: the edit of the deferred answer. */
const approvedText = `✅ <@${approverId}> approved Continue to CI Bot: production deploy?.`

/**
 * Press Approve as `userId` (the configured approver by default): the answer, and
 * for a deferred one ("thinking…") its edit, which comes once Buildkite has answered.
 */
const press = async (bot: BotProcess, context: Setup, body = buttonPress(`approve:${blockJobId}`, approverId), headers = signInteraction(body)) => {
  const answer = await bot.post("/interactions", body, headers)
  const json = answer.status === 200 ? JSON.parse(answer.text) : undefined
  const edit = json?.type === 5 ? await context.discord.answerTo(JSON.parse(body).token) : undefined
  return { status: answer.status, text: answer.text, json, edit }
}

/** Approve the blocked deploy from Discord, as the configured approver, and wait for Buildkite's answer. */
const approve = async (bot: BotProcess, context: Setup) => {
  const answer = await press(bot, context)
  assert.deepStrictEqual(answer.json, { type: 5, data: {} })
  assert.deepStrictEqual(answer.edit, { content: approvedText, allowed_mentions: { parse: [] } })
  return answer
}

/** Every stage, its deliveries arranged by `order`, approving from Discord when the deploy blocks. */
const lifecycle = async (
  bot: BotProcess,
  setup: Setup,
  order: (deliveries: ReadonlyArray<Delivery>) => ReadonlyArray<Delivery> = (list) => list,
  between: (stage: Stage) => Promise<void> = async () => {}
) => {
  for (const stage of stages) {
    if (stage === "approved") {
      await approve(bot, setup)
    } else {
      setStage(setup.buildkite, stage)
    }
    // Each delivery signed at its own time, as Buildkite signs a redelivery anew.
    const now = Math.floor(Date.now() / 1000)
    for (const [i, delivery] of order(deliveries[stage]).entries()) {
      const answer = await bot.webhook(bodyOf(stage, delivery), { kind: "signature", timestamp: now - i })
      assert.strictEqual(answer.status, 200, `${stage} ${delivery.event}: ${answer.text}`)
    }
    await bot.settled()
    await between(stage)
  }
}

/** The message a whole lifecycle delivered in order ends with. */
const finalMessage = async () => {
  const context = await setup()
  const bot = await start(context.options())
  await lifecycle(bot, context)
  assert.strictEqual(context.discord.messages.size, 1)
  return shown(context)
}

describe("tool bot", () => {
  it("keeps one message per build up to date, from scheduled to deployed, approved from Discord", async () => {
    const context = await setup()
    const bot = await start(context.options())
    const seen: Partial<Record<Stage, any>> = {}
    await lifecycle(bot, context, undefined, async (stage) => {
      seen[stage] = shown(context)
    })

    assert.strictEqual(context.discord.messages.size, 1, "one message for the build and its deploy")
    assert.deepStrictEqual(context.discord.requests.filter((request) => request.method === "POST").length, 1)
    assert.strictEqual(seen.scheduled.embeds[0].title, "⏳ my-pipeline #7")
    assert.strictEqual(seen.checking.embeds[0].title, "🔄 my-pipeline #7")
    assert.include(fieldLines(seen.built.embeds[0]), "✅ `bot` (12.0 s)")
    assert.strictEqual(seen.blocked.embeds[1].title, "⏸️ Deploy deployBot · deploy #103")
    assert.include(fieldLines(seen.blocked.embeds[1]), "⏸️ Continue to CI Bot: production deploy?: waiting for approval")
    assert.deepStrictEqual(approveButtons(seen.blocked), [`approve:${blockJobId}`])
    assert.deepStrictEqual(context.buildkite.unblocked, [blockJobId])

    const final = seen.finished
    assert.deepStrictEqual(final.embeds.map((embed: any) => embed.title), ["✅ my-pipeline #7", "✅ Deploy deployBot · deploy #103"])
    assert.deepStrictEqual(fieldLines(final.embeds[0]), ["✅ Lint bot (4.2 s)", "✅ `bot` (12.0 s)", "✅ `deploy-bot` (12.0 s)"])
    assert.deepStrictEqual(fieldLines(final.embeds[1]), [
      "✅ deploy enabled",
      "✅ CI Bot: staging deploy after 2 attempts",
      "✅ Continue to CI Bot: production deploy?: approved by Keith Pitt",
      "✅ CI Bot: production deploy"
    ])
    assert.deepStrictEqual(approveButtons(final), [], "nothing left to approve")
    assert.deepStrictEqual(final.allowed_mentions, { parse: [] })
    for (const secret of secrets) assert.notInclude(bot.output, secret)
  })

  it("ends with the same message when every delivery comes twice and in reverse order", async () => {
    const expected = await finalMessage()
    const context = await setup()
    const bot = await start(context.options())
    await lifecycle(bot, context, (list) => [...list, ...list].reverse())
    assert.strictEqual(context.discord.messages.size, 1)
    assert.deepStrictEqual(shown(context), expected)
  })

  it("never shows a finished build as running again, whatever the API answers later", async () => {
    const context = await setup()
    const bot = await start(context.options())
    await deliverAt(bot, context, "finished", { event: "build.finished", build: "ci" })
    const finished = shown(context)
    assert.strictEqual(finished.embeds[0].title, "✅ my-pipeline #7")

    // A late delivery, and an API still answering from before the build finished.
    context.buildkite.set(deployBuild("deploying"))
    await deliverAt(bot, context, "checking", { event: "build.running", build: "ci" })
    assert.deepStrictEqual(shown(context), finished)
  })

  it("shows a build retried after it finished as running again, then finished again", async () => {
    const context = await setup()
    const bot = await start(context.options())
    await deliverAt(bot, context, "built", { event: "job.finished", build: "ci", job: "job-build" })
    const finished = ciBuild("finished")
    context.buildkite.set(finished)
    await deliverAt(bot, context, "finished", { event: "build.finished", build: "ci" })
    assert.strictEqual(shown(context).embeds[0].title, "✅ my-pipeline #7")

    // Someone retries the check: Buildkite replaces its job with a new one, and the build runs again.
    const retried = { ...finished, state: "running", jobs: finished.jobs.map((job) => job.id === "job-check-lint" ? { ...job, id: "job-check-lint-retry", state: "running" } : job) }
    context.buildkite.set(retried)
    const answer = await bot.webhook(webhookBody("build.running", retried))
    assert.strictEqual(answer.status, 200, answer.text)
    await bot.settled()
    assert.strictEqual(shown(context).embeds[0].title, "🔄 my-pipeline #7")

    context.buildkite.set({ ...retried, state: "passed", jobs: retried.jobs.map((job) => ({ ...job, state: "passed" })) })
    assert.strictEqual((await bot.webhook(webhookBody("build.finished", retried))).status, 200)
    await bot.settled()
    assert.strictEqual(shown(context).embeds[0].title, "✅ my-pipeline #7")
    assert.strictEqual(context.discord.messages.size, 1)
  })

  it("carries on in a new message when Discord refuses more edits of an old one (30046)", async () => {
    const context = await setup()
    const bot = await start(context.options())
    await lifecycle(bot, context, undefined, async (stage) => {
      if (stage === "built") for (const id of context.discord.messages.keys()) context.discord.old.add(id)
    })
    assert.strictEqual(context.discord.messages.size, 2)
    assert.strictEqual(shown(context, 0).embeds[0].title, "🔄 my-pipeline #7", "the old message keeps what it last showed")
    assert.deepStrictEqual(shown(context, 1).embeds.map((embed: any) => embed.title), ["✅ my-pipeline #7", "✅ Deploy deployBot · deploy #103"])
  })

  it("waits out Discord's 429s and still ends with one message", async () => {
    const expected = await finalMessage()
    const context = await setup()
    context.discord.rateLimitEvery = 2
    const bot = await start(context.options())
    await lifecycle(bot, context)
    assert.isAbove(context.discord.requests.length, 4)
    assert.strictEqual(context.discord.messages.size, 1)
    assert.deepStrictEqual(shown(context), expected)
  })

  it("loses nothing to SIGKILL at any stage: after a restart, one message, brought up to date", async () => {
    const expected = await finalMessage()
    const context = await setup()
    let bot = await start(context.options({ env: { CI_BOT_DEBOUNCE_MS: "400" } }))
    for (const stage of stages) {
      if (stage === "approved") await approve(bot, context)
      else setStage(context.buildkite, stage)
      for (const delivery of deliveries[stage]) assert.strictEqual((await bot.webhook(bodyOf(stage, delivery))).status, 200)
      // Killed before the debounced refresh runs: the deliveries are only in the database.
      await bot.kill()
      bot = await start(context.options({ env: { CI_BOT_DEBOUNCE_MS: "400" } }))
      await bot.settled()
    }
    assert.strictEqual(context.discord.messages.size, 1)
    assert.deepStrictEqual(shown(context), expected)
  })

  it("loses nothing to SIGKILL at arbitrary moments while refreshing (bot transport)", async () => {
    const expected = await finalMessage()
    const context = await setup()
    context.discord.postDelay = 200
    // Seeded: the same moments every run.
    let seed = 7
    const random = (below: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % below
    let bot = await start(context.options({ transport: "bot" }))
    for (const stage of stages) {
      if (stage === "approved") await approve(bot, context)
      else setStage(context.buildkite, stage)
      for (const delivery of deliveries[stage]) assert.strictEqual((await bot.webhook(bodyOf(stage, delivery))).status, 200)
      await new Promise((resolve) => setTimeout(resolve, random(400)))
      await bot.kill()
      bot = await start(context.options({ transport: "bot" }))
      await bot.settled()
    }
    assert.strictEqual(context.discord.messages.size, 1)
    // The bot transport's messages differ from the webhook's in nothing the message shows.
    assert.deepStrictEqual(shown(context), expected)
  })

  /** A bot (bot transport) whose first post Discord has made but not yet answered. */
  const postingSlowly = async (context: Setup) => {
    context.discord.postDelay = 1_500
    const bot = await start(context.options({ transport: "bot" }))
    setStage(context.buildkite, "checking")
    assert.strictEqual((await bot.webhook(bodyOf("checking", { event: "build.running", build: "ci" }))).status, 200)
    while (context.discord.messages.size === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    return bot
  }

  it("posts once when killed while Discord is creating the message (bot transport, nonce)", async () => {
    const context = await setup()
    let bot = await postingSlowly(context)
    // Discord has made the message, but the bot dies before it hears the id.
    await bot.kill()
    context.discord.postDelay = 0
    setStage(context.buildkite, "building")
    bot = await start(context.options({ transport: "bot" }))
    await bot.settled()
    assert.strictEqual(context.discord.messages.size, 1, "the retried post carried the same nonce")
    assert.strictEqual((await bot.webhook(bodyOf("building", deliveries.building[0]!))).status, 200)
    await bot.settled()
    assert.strictEqual(context.discord.messages.size, 1)
    assert.include(fieldLines(shown(context).embeds[0]), "✅ Lint bot (4.2 s)")
  })

  it("refuses every unauthenticated, replayed, oversized or malformed webhook and changes nothing", async () => {
    const context = await setup()
    const bot = await start(context.options({ env: { CI_BOT_MAX_BODY_BYTES: "8192" } }))
    setStage(context.buildkite, "checking")
    const body = bodyOf("checking", { event: "build.running", build: "ci" })
    const now = Math.floor(Date.now() / 1000)
    const refused: Array<[string, Promise<{ status: number; text: string }>, number, string]> = [
      ["unsigned", bot.webhook(body, { kind: "headers", headers: {} }), 401, "neither X-Buildkite-Signature nor X-Buildkite-Token"],
      ["forged", bot.webhook(body, { kind: "signature", secret: "guessed" }), 401, "X-Buildkite-Signature does not match"],
      ["stale", bot.webhook(body, { kind: "signature", timestamp: now - 301 }), 401, "stale"],
      // A minute beyond the tolerance: the bot reads its clock later than `now` was taken, a second or more on a busy machine.
      ["from the future", bot.webhook(body, { kind: "signature", timestamp: now + 360 }), 401, "stale"],
      ["wrong token", bot.webhook(body, { kind: "token", token: "guessed" }), 401, "X-Buildkite-Token does not match"],
      ["oversized", bot.webhook(JSON.stringify({ event: "build.running", padding: "x".repeat(9000) })), 413, "body too large"],
      ["not JSON", bot.webhook("{ not json"), 400, "not a Buildkite webhook"],
      ["unknown shape", bot.webhook(JSON.stringify({ hello: "world" })), 400, "not a Buildkite webhook"],
      ["a build the API cannot name", bot.webhook(JSON.stringify({ event: "build.running", build: { id: "x", url: "https://example.com/" } })), 400, "without a build"],
      ["a build event without a build", bot.webhook(JSON.stringify({ event: "build.running" })), 400, "without a build"],
      ["an event not used", bot.webhook(JSON.stringify({ event: "agent.connected", agent: {} })), 202, "agent.connected: not used"]
    ]
    for (const [name, response, status, text] of refused) {
      const answer = await response
      assert.strictEqual(answer.status, status, `${name}: ${answer.text}`)
      assert.include(answer.text, text, name)
    }
    const ping = await bot.webhook(JSON.stringify({ event: "ping" }))
    assert.deepStrictEqual(ping, { status: 200, text: "pong" })

    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepStrictEqual(await bot.health(), { ok: true, pending: 0 })
    assert.deepStrictEqual(context.buildkite.requests, [], "nothing fetched")
    assert.deepStrictEqual(context.discord.requests, [], "nothing posted")
    const db = new DatabaseSync(context.database, { readOnly: true })
    assert.deepStrictEqual(db.prepare("SELECT COUNT(*) AS n FROM builds").get(), { n: 0 })
    db.close()

    // A genuine delivery is taken once; the same request again is a replay.
    const signed = { kind: "headers" as const, headers: webhookHeaders(body) }
    assert.strictEqual((await bot.webhook(body, signed)).status, 200)
    assert.deepStrictEqual(await bot.webhook(body, signed), { status: 401, text: "replayed delivery" })
    await bot.settled()
    assert.strictEqual(context.discord.messages.size, 1)
    assert.strictEqual(context.buildkite.requests.length, 1, "the replay fetched nothing")

    // With the token instead, a repeated delivery is harmless: taken as a duplicate.
    assert.strictEqual((await bot.webhook(body, { kind: "token" })).status, 200)
    assert.deepStrictEqual(await bot.webhook(body, { kind: "token" }), { status: 200, text: "duplicate" })
    for (const secret of secrets) assert.notInclude(bot.output, secret)
  })

  it("lets only configured approvers approve, after checking Discord's signature", async () => {
    const context = await setup()
    const bot = await start(context.options())
    await deliverAt(bot, context, "blocked", { event: "build.finished", build: "deploy" })

    const ping = JSON.stringify({ type: 1, id: "1", application_id: "2", token: "t", version: 1 })
    assert.deepStrictEqual(await bot.post("/interactions", ping, signInteraction(ping)), { status: 200, text: JSON.stringify({ type: 1 }) })

    const genuine = buttonPress(`approve:${blockJobId}`, approverId)
    const forged = await bot.post("/interactions", genuine, signInteraction(genuine, generateKeyPairSync("ed25519").privateKey))
    assert.strictEqual(forged.status, 401)
    const unsigned = await bot.post("/interactions", genuine, {})
    assert.strictEqual(unsigned.status, 401)
    const tampered = await bot.post("/interactions", genuine.replace(approverId, strangerId), signInteraction(genuine))
    assert.strictEqual(tampered.status, 401)

    const strangerPress = buttonPress(`approve:${blockJobId}`, strangerId)
    const refusal = await bot.post("/interactions", strangerPress, signInteraction(strangerPress))
    assert.strictEqual(refusal.status, 200)
    assert.deepStrictEqual(JSON.parse(refusal.text), {
      type: 4,
      data: { content: "Only the configured approvers can approve deploys.", flags: 64, allowed_mentions: { parse: [] } }
    })
    const unknownPress = buttonPress("approve:no-such-job", approverId)
    const unknown = JSON.parse((await bot.post("/interactions", unknownPress, signInteraction(unknownPress))).text)
    assert.strictEqual(unknown.data.flags, 64)
    assert.strictEqual(unknown.data.content, "This step is not waiting for approval any more.")
    assert.deepStrictEqual(context.buildkite.unblocked, [], "nobody has approved yet")

    await approve(bot, context)
    assert.deepStrictEqual(context.buildkite.unblocked, [blockJobId])
    await bot.settled()
    const message = shown(context)
    assert.deepStrictEqual(approveButtons(message), [], "the button goes once the step is unblocked")
    assert.include(fieldLines(message.embeds[1]), "✅ Continue to CI Bot: production deploy?: approved by Keith Pitt")
  })

  for (const [when, offset] of [["a year ago", -365 * 86_400], ["a year ahead", 365 * 86_400]] as const) {
    it(`refuses an approval signed ${when}, however genuine`, async () => {
      const context = await setup()
      const bot = await start(context.options())
      await deliverAt(bot, context, "blocked", { event: "build.finished", build: "deploy" })
      const at = String(Math.floor(Date.now() / 1000) + offset)
      const body = buttonPress(`approve:${blockJobId}`, approverId)
      assert.deepStrictEqual(await bot.post("/interactions", body, signInteraction(body, undefined, at)), {
        status: 401,
        text: `X-Signature-Timestamp is stale (timestamp "${at}")`
      })
      assert.deepStrictEqual(context.buildkite.requests.filter((request) => request.method === "PUT"), [], "nothing asked of Buildkite")
      // The same press signed now goes through.
      assert.strictEqual((await press(bot, context, body)).edit.content, approvedText)
      assert.deepStrictEqual(context.buildkite.unblocked, [blockJobId])
    })
  }

  /** An approval Buildkite refuses (the token may not unblock, say): the job stays blocked, approvable. */
  const refusedApproval = async (bot: BotProcess, context: Setup) => {
    await deliverAt(bot, context, "blocked", { event: "build.finished", build: "deploy" })
    context.buildkite.refuseUnblocks.push(403)
    const body = buttonPress(`approve:${blockJobId}`, approverId)
    const headers = signInteraction(body)
    const refused = await press(bot, context, body, headers)
    assert.include(refused.edit.content, "❌ Buildkite did not unblock Continue to CI Bot: production deploy?")
    assert.deepStrictEqual(context.buildkite.unblocked, [])
    return { body, headers }
  }

  it("refuses a replayed approval, even one Buildkite refused the first time", async () => {
    const context = await setup()
    const bot = await start(context.options())
    const { body, headers } = await refusedApproval(bot, context)
    assert.deepStrictEqual(await bot.post("/interactions", body, headers), { status: 401, text: "replayed interaction" })
    assert.deepStrictEqual(context.buildkite.unblocked, [], "the replay unblocked nothing")
    assert.strictEqual(context.buildkite.requests.filter((request) => request.method === "PUT").length, 1, "nor asked Buildkite to")
    // A click is a new interaction, with an id of its own.
    await approve(bot, context)
    assert.deepStrictEqual(context.buildkite.unblocked, [blockJobId])
  })

  it("refuses a replayed approval after a restart (SIGKILL)", async () => {
    const context = await setup()
    let bot = await start(context.options())
    const { body, headers } = await refusedApproval(bot, context)
    await bot.kill()
    bot = await start(context.options())
    assert.deepStrictEqual(await bot.post("/interactions", body, headers), { status: 401, text: "replayed interaction" })
    assert.deepStrictEqual(context.buildkite.unblocked, [], "the replay unblocked nothing")
  })

  it("refuses interactions altogether without a public key", async () => {
    const context = await setup()
    const bot = await start(context.options({ env: { CI_BOT_DISCORD_PUBLIC_KEY: "" } }))
    const body = buttonPress(`approve:${blockJobId}`, approverId)
    const answer = await bot.post("/interactions", body, signInteraction(body))
    assert.strictEqual(answer.status, 401)
    assert.include(answer.text, "CI_BOT_DISCORD_PUBLIC_KEY")
  })

  it("stops on SIGTERM with exit code 0, its database closed and checkpointed", async () => {
    const context = await setup()
    const bot = await start(context.options())
    await deliverAt(bot, context, "checking", { event: "build.running", build: "ci" })
    assert.includeMembers(readdirSync(join(context.database, "..")), ["bot.sqlite", "bot.sqlite-wal"])
    assert.strictEqual(await bot.stop(), 0)
    assert.match(bot.output, / message=stopped( |$)/m)
    // SQLite folds the WAL back and removes it when the last connection closes.
    assert.deepStrictEqual(readdirSync(join(context.database, "..")), ["bot.sqlite"])
  })

  it("finishes the refresh under way on SIGTERM, exits 0, and the message is whole after a restart", async () => {
    const context = await setup()
    let bot = await postingSlowly(context)
    // The refresh is under way when the stop comes.
    const stopped = bot.stop()
    // Deliveries that come while it stops are recorded, not lost.
    setStage(context.buildkite, "building")
    const during = await bot.webhook(bodyOf("building", deliveries.building[0]!)).catch(() => undefined)
    assert.strictEqual(await stopped, 0)
    assert.match(bot.output, / message=stopped( |$)/m)
    const db = new DatabaseSync(context.database, { readOnly: true })
    assert.isNotNull((db.prepare("SELECT message_id FROM builds").get() as { message_id: string | null }).message_id, "the post finished and was recorded")
    db.close()

    context.discord.postDelay = 0
    bot = await start(context.options({ transport: "bot" }))
    await bot.settled()
    if (during === undefined) assert.strictEqual((await bot.webhook(bodyOf("building", deliveries.building[0]!))).status, 200)
    else assert.strictEqual(during.status, 200, during.text)
    await bot.settled()
    assert.strictEqual(context.discord.messages.size, 1)
    assert.strictEqual(context.discord.requests.filter((request) => request.method === "POST").length, 1, "posted once")
    assert.include(fieldLines(shown(context).embeds[0]), "✅ Lint bot (4.2 s)")
  })

  it("hands back a refresh not yet started on SIGTERM: the next start does it", async () => {
    const context = await setup()
    let bot = await start(context.options({ env: { CI_BOT_DEBOUNCE_MS: "5000" } }))
    setStage(context.buildkite, "checking")
    assert.strictEqual((await bot.webhook(bodyOf("checking", { event: "build.running", build: "ci" }))).status, 200)
    assert.strictEqual(await bot.stop(), 0)
    assert.strictEqual(context.discord.messages.size, 0, "the debounced refresh did not start")
    bot = await start(context.options())
    await bot.settled()
    assert.strictEqual(shown(context).embeds[0].title, "🔄 my-pipeline #7")
  })
})
