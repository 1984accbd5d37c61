/**
 * bench/bot-floor: the least a webhook answer can cost, for bench/bot to measure
 * the bot against. A bare node:http server that does only what must happen before
 * the 200: read the body, check its signature, and commit the delivery id and the
 * build's dirty mark to SQLite with `synchronous = FULL`, in groups as the bot
 * does. No Effect, no refreshes, no Discord. It reads the bot's CI_BOT_* settings
 * and says where it listens as the bot does, so the benchmark starts either the
 * same way.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { DatabaseSync } from "node:sqlite"
import { verifyWebhook } from "../src/bot/webhookAuth.ts"

const db = new DatabaseSync(process.env.CI_BOT_DATABASE!)
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
  CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS builds (id TEXT PRIMARY KEY, dirty_seq INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);`)
const delivery = db.prepare("INSERT OR IGNORE INTO deliveries (id, received_at) VALUES (?, ?)")
const dirty = db.prepare("INSERT INTO builds (id, updated_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET dirty_seq = dirty_seq + 1")
const secret = process.env.CI_BOT_BUILDKITE_WEBHOOK_TOKEN!

// Deliveries that come together share a transaction, as the bot's do: one fsync for them all.
let queue: Array<{ readonly id: string; readonly build: string; readonly now: number; readonly answer: (fresh: boolean) => void }> = []
const commit = () => {
  const batch = queue
  queue = []
  db.exec("BEGIN IMMEDIATE")
  const fresh = batch.map(({ id, build, now }) => {
    const taken = delivery.run(id, now).changes === 1
    if (taken) dirty.run(build, now)
    return taken
  })
  db.exec("COMMIT")
  batch.forEach((entry, i) => entry.answer(fresh[i]!))
}

const server = createServer(async (request, response) => {
  const chunks: Array<Buffer> = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  if (request.url === "/healthz") return response.writeHead(200, { "content-type": "application/json" }).end(`{"ok":true,"pending":0}`)
  const body = Buffer.concat(chunks)
  const now = Date.now()
  const auth = verifyWebhook({ signature: request.headers["x-buildkite-signature"] as string | undefined, token: undefined, body }, secret, Math.floor(now / 1000), 300)
  if (auth._tag === "Rejected") return response.writeHead(401).end(auth.reason)
  const build: { id: string } = JSON.parse(body.toString("utf8")).build
  if (queue.length === 0) setImmediate(commit)
  queue.push({ id: auth.deliveryId, build: build.id, now, answer: (fresh) => response.writeHead(fresh ? 200 : 401).end(fresh ? "queued" : "replayed delivery") })
})
server.listen(0, "127.0.0.1", () => console.log(`floor: listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`))
