import type { IncomingMessage, ServerResponse } from "node:http"
import { LocalServer } from "./localServer.ts"

/**
 * A local server that answers like Discord's REST API, for the parts the bot
 * uses: execute and edit a webhook's messages, create and edit a channel's
 * messages (with `nonce` and `enforce_nonce`). Like Discord it checks embed
 * limits, answers 429 with `Retry-After` when told to, and refuses edits of
 * messages marked old with error 30046.
 */

export interface FakeMessage {
  readonly id: string
  readonly nonce: string | undefined
  /** Every body the message has had, the first from its creation. */
  readonly versions: Array<any>
}

const embedLength = (embed: any): number =>
  (embed.title?.length ?? 0) +
  (embed.description?.length ?? 0) +
  (embed.footer?.text?.length ?? 0) +
  (embed.author?.name?.length ?? 0) +
  (embed.fields ?? []).reduce((sum: number, field: any) => sum + field.name.length + field.value.length, 0)

/** What Discord would refuse in a message body, if anything. */
export const discordLimitViolation = (body: any): string | undefined => {
  const embeds: Array<any> = body.embeds ?? []
  if (embeds.length > 10) return "more than 10 embeds"
  if (embeds.reduce((sum, embed) => sum + embedLength(embed), 0) > 6000) return "embeds total more than 6000 characters"
  for (const embed of embeds) {
    if ((embed.title?.length ?? 0) > 256) return "title over 256"
    if ((embed.description?.length ?? 0) > 4096) return "description over 4096"
    if ((embed.fields ?? []).length > 25) return "more than 25 fields"
    for (const field of embed.fields ?? []) {
      if (field.name.length > 256 || field.value.length > 1024 || field.value.length === 0) return "a field out of bounds"
    }
  }
  const urls = embeds.map((embed) => embed.url).filter((url) => url !== undefined)
  if (new Set(urls).size !== urls.length) return "embeds share a URL"
  return undefined
}

export class FakeDiscord extends LocalServer {
  readonly messages = new Map<string, FakeMessage>()
  readonly requests: Array<{ method: string; path: string }> = []
  /** Answer every n-th request with a 429 (0: never). */
  rateLimitEvery = 0
  /** Message ids whose edits fail with 30046, as Discord does for messages over an hour old. */
  readonly old = new Set<string>()
  /** Milliseconds to wait before answering a message creation (which has already happened). */
  postDelay = 0
  /** Edits of deferred interaction answers (`…/messages/@original`, the `@` as discord.js escapes it or not), by interaction token. */
  readonly interactionAnswers = new Map<string, Array<any>>()
  /** The application's commands, as the last bulk overwrite left them. */
  commands: Array<any> = []
  private nextId = 1_100_000_000_000_000_000n

  get url(): string {
    return `${this.origin}/api`
  }

  /** The last edit of the deferred answer to the interaction with this token, once there is one. */
  async answerTo(token: string, timeoutMs = 15_000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    while (this.interactionAnswers.get(token) === undefined) {
      if (Date.now() > deadline) throw new Error(`no edit of the answer to ${token}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return this.interactionAnswers.get(token)!.at(-1)
  }

  protected async handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Array<Buffer> = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const url = new URL(request.url ?? "/", "http://localhost")
    this.requests.push({ method: request.method ?? "", path: url.pathname })

    if (this.rateLimitEvery > 0 && this.requests.length % this.rateLimitEvery === 0) {
      return this.send(response, 429, { message: "You are being rate limited.", retry_after: 0.05, global: false }, {
        "retry-after": "0.05",
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset-after": "0.05",
        "x-ratelimit-bucket": "fake",
        "x-ratelimit-scope": "user"
      })
    }

    const body = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8"))
    const create = /^\/api\/v10\/(webhooks\/\d+\/[^/]+|channels\/\d+\/messages)$/.exec(url.pathname)
    const edit = /^\/api\/v10\/(?:webhooks\/\d+\/[^/]+|channels\/\d+)\/messages\/(\d+)$/.exec(url.pathname)
    if (url.pathname.startsWith("/api/v10/channels/") && request.headers.authorization !== "Bot bot-token") {
      return this.send(response, 401, { message: "401: Unauthorized", code: 0 })
    }

    const original = /^\/api\/v10\/webhooks\/(\d+)\/([^/]+)\/messages\/(?:@|%40)original$/.exec(url.pathname)
    if (request.method === "PATCH" && original !== null) {
      if (request.headers.authorization !== undefined) return this.send(response, 400, { message: "no Authorization on an interaction webhook", code: 0 })
      const violation = discordLimitViolation(body)
      if (violation !== undefined) return this.send(response, 400, { message: `Invalid Form Body: ${violation}`, code: 50035 })
      const answers = this.interactionAnswers.get(original[2]!) ?? []
      answers.push(body)
      this.interactionAnswers.set(original[2]!, answers)
      return this.send(response, 200, { id: "1100000000000000900", ...body })
    }
    if (request.method === "PUT" && /^\/api\/v10\/applications\/\d+\/commands$/.test(url.pathname)) {
      if (request.headers.authorization !== "Bot bot-token") return this.send(response, 401, { message: "401: Unauthorized", code: 0 })
      this.commands = body.map((command: any, i: number) => ({ id: String(1_100_000_000_000_000_800n + BigInt(i)), ...command }))
      return this.send(response, 200, this.commands)
    }

    const violation = discordLimitViolation(body)
    if ((create !== null || edit !== null) && violation !== undefined) {
      return this.send(response, 400, { message: `Invalid Form Body: ${violation}`, code: 50035 })
    }

    if (request.method === "POST" && create !== null) {
      if (body.enforce_nonce === true && body.nonce !== undefined) {
        const existing = [...this.messages.values()].find((message) => message.nonce === body.nonce)
        if (existing !== undefined) return this.send(response, 200, { id: existing.id, ...existing.versions.at(-1) })
      }
      const id = String(this.nextId++)
      const { nonce, enforce_nonce: _, ...content } = body
      this.messages.set(id, { id, nonce, versions: [content] })
      if (this.postDelay > 0) await new Promise((resolve) => setTimeout(resolve, this.postDelay))
      return this.send(response, 200, { id, ...content })
    }
    if (request.method === "PATCH" && edit !== null) {
      const message = this.messages.get(edit[1]!)
      if (message === undefined) return this.send(response, 404, { message: "Unknown Message", code: 10008 })
      if (this.old.has(message.id)) {
        return this.send(response, 400, { message: "Maximum number of edits to messages older than 1 hour reached. Try again later.", code: 30046 })
      }
      message.versions.push(body)
      return this.send(response, 200, { id: message.id, ...body })
    }
    return this.send(response, 404, { message: "404: Not Found", code: 0 })
  }
}
