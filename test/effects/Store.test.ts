import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { interactionMemoryMillis, Store, type StoreError } from "../../src/effects/Store.ts"

/** The bot's state in a real SQLite file; each `use` opens it afresh, as a restarted bot would. */
const database = () => join(mkdtempSync(join(tmpdir(), "ci-store-")), "bot.sqlite")
const use = <A, E>(path: string, effect: Effect.Effect<A, E, Store>) => Effect.provide(effect, Store.layer(path))

const root = { id: "build-1", ref: { organization: "org", pipeline: "ci", number: 7 } }

describe("Store", () => {
  it.effect("records a delivery once: the same id again changes nothing", () =>
    use(database(), Effect.gen(function*() {
      const store = yield* Store
      assert.isTrue(yield* store.accept("signature:a", root, 1))
      const first = yield* store.build(root.id)
      assert.isFalse(yield* store.accept("signature:a", root, 2))
      assert.deepStrictEqual(yield* store.build(root.id), first)
      assert.isTrue(yield* store.accept(undefined, root, 3), "a delivery without an id is always taken")
    })))

  it.effect("keeps a build dirty when it is marked again during a refresh", () =>
    use(database(), Effect.gen(function*() {
      const store = yield* Store
      yield* store.accept("d1", root, 1)
      const started = yield* store.build(root.id)
      yield* store.accept("d2", root, 2)
      yield* store.rendered(root.id, "hash-1", started!.dirtySeq, 3)
      assert.isTrue((yield* store.build(root.id))!.dirty, "the mark made during the refresh is not covered by it")
      const again = yield* store.build(root.id)
      yield* store.rendered(root.id, "hash-2", again!.dirtySeq, 4)
      assert.isFalse((yield* store.build(root.id))!.dirty)
      assert.deepStrictEqual(yield* store.dirtyBuilds, [])
      yield* store.rendered(root.id, "hash-3", started!.dirtySeq, 5)
      assert.isFalse((yield* store.build(root.id))!.dirty, "an older refresh finishing late does not undo a newer one")
    })))

  it.effect("keeps everything across a reopen: messages, posts under way, dirty builds, deliveries", () =>
    Effect.gen(function*() {
      const path = database()
      const other = { id: "build-2", ref: { organization: "org", pipeline: "ci", number: 8 } }
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        yield* store.accept("d1", root, 1)
        yield* store.startPosting(root.id, "nonce-1", 2)
        yield* store.posted(root.id, "1100000000000000001", 3)
        yield* store.accept("d2", other, 4)
        yield* store.startPosting(other.id, "nonce-2", 5)
      }))
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        const first = (yield* store.build(root.id))!
        assert.strictEqual(first.messageId, "1100000000000000001")
        assert.strictEqual(first.messageCreatedAt, 3)
        assert.isUndefined(first.postingNonce)
        const second = (yield* store.build(other.id))!
        assert.isUndefined(second.messageId)
        assert.strictEqual(second.postingNonce, "nonce-2", "a post that may have happened is retried with its nonce")
        assert.deepStrictEqual((yield* store.dirtyBuilds).map((build) => build.id).sort(), ["build-1", "build-2"])
        assert.isFalse(yield* store.accept("d1", root, 6), "a delivery seen before the restart is still known")
      }))
    }))

  it.effect("replaces a build's approvable jobs, and forgets old deliveries", () =>
    use(database(), Effect.gen(function*() {
      const store = yield* Store
      const ref = { organization: "org", pipeline: "deploy", number: 103 }
      yield* store.saveApprovable([{ jobId: "block-1", rootId: root.id, ref, label: "Production?" }], root.id)
      assert.deepStrictEqual(yield* store.approvable("block-1"), { jobId: "block-1", rootId: root.id, ref, label: "Production?" })
      yield* store.saveApprovable([], root.id)
      assert.isUndefined(yield* store.approvable("block-1"))

      yield* store.accept("old", root, 1_000)
      yield* store.accept("new", root, 5_000)
      yield* store.forgetDeliveriesBefore(2_000)
      assert.isTrue(yield* store.accept("old", root, 6_000))
      assert.isFalse(yield* store.accept("new", root, 6_000))
    })))

  it.effect("remembers an interaction for ten minutes, across a reopen, then forgets it", () =>
    Effect.gen(function*() {
      const path = database()
      const t = 1_700_000_000_000
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        assert.isTrue(yield* store.acceptInteraction("1100000000000000500", t))
        assert.isFalse(yield* store.acceptInteraction("1100000000000000500", t + 1), "seen")
        assert.isTrue(yield* store.acceptInteraction("1100000000000000499", t - 1), "another")
        assert.isTrue(yield* store.acceptInteraction("1100000000000000501", t + 2), "and another")
      }))
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        assert.isFalse(yield* store.acceptInteraction("1100000000000000500", t + interactionMemoryMillis), "still seen after a restart")
        assert.isTrue(yield* store.acceptInteraction("1100000000000000500", t + interactionMemoryMillis + 1), "forgotten after ten minutes")
      }))
      const db = new DatabaseSync(path, { readOnly: true })
      const remembered = db.prepare("SELECT id FROM interactions ORDER BY id").all().map((row) => row.id)
      assert.deepStrictEqual(remembered, ["1100000000000000500", "1100000000000000501"], "those over ten minutes old are pruned")
      db.close()
    }))

  it.effect("keeps each build's furthest-along snapshot, the latest of that rank, across a reopen", () =>
    Effect.gen(function*() {
      const path = database()
      const at = (rank: number, body: string) => ({ buildId: "build-1", rank, body })
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        assert.isUndefined(yield* store.settle(at(1, "running"), 1), "nothing kept yet: show this one")
        assert.isUndefined(yield* store.settle(at(2, "passed"), 2))
        assert.strictEqual(yield* store.settle(at(1, "running again"), 3), "passed", "a finished build stays finished")
        assert.isUndefined(yield* store.settle(at(2, "passed, with more"), 4), "a later snapshot as far along replaces it")
        assert.isUndefined(yield* store.settle({ ...at(0, "scheduled"), buildId: "build-2" }, 5), "each build its own")
      }))
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        assert.strictEqual(yield* store.settle(at(0, "scheduled"), 6), "passed, with more")
        yield* store.saveSnapshot(at(0, "replaced"), 7)
        assert.isUndefined(yield* store.settle(at(0, "scheduled"), 8), "saved whatever its rank")
      }))
    }))

  it.effect("takes many requests at once, each answered when committed, one failing alone", () =>
    Effect.gen(function*() {
      const path = database()
      const ids = Array.from({ length: 200 }, (_, i) => `signature:${i}`)
      // A root the builds table refuses (NOT NULL): its delivery must not stay recorded.
      const broken = { id: "build-x", ref: { organization: null as unknown as string, pipeline: "ci", number: 9 } }
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        const answers = yield* Effect.all(
          [...ids.map((id, i) => store.accept(id, { ...root, id: `build-${i % 7}` }, i)), Effect.flip(store.accept("signature:broken", broken, 0))],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(answers.slice(0, -1), ids.map(() => true))
        const error = answers.at(-1) as StoreError
        assert.strictEqual(error._tag, "StoreError")
        assert.include(error.message, "recording a delivery failed")
        assert.include(error.message, "NOT NULL")
      }))
      yield* use(path, Effect.gen(function*() {
        const store = yield* Store
        for (const id of ids) assert.isFalse(yield* store.accept(id, root, 1), id)
        assert.strictEqual((yield* store.dirtyBuilds).length, 7)
        assert.isTrue(yield* store.accept("signature:broken", root, 1), "the failed request left nothing behind")
      }))
    }))

  it.effect("migrates once, in WAL mode, and keeps its schema version", () =>
    Effect.gen(function*() {
      const path = database()
      yield* use(path, Effect.void)
      yield* use(path, Effect.void)
      const db = new DatabaseSync(path)
      assert.deepStrictEqual(db.prepare("SELECT version FROM schema_migrations").all().map((row) => row.version), [1, 2])
      assert.strictEqual(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal")
      db.close()
    }))

  it.effect("records when each migration ran by the clock", () =>
    Effect.gen(function*() {
      const path = database()
      yield* TestClock.setTime(1_700_000_000_000)
      yield* use(path, Effect.void)
      const db = new DatabaseSync(path, { readOnly: true })
      assert.deepStrictEqual(db.prepare("SELECT applied_at FROM schema_migrations").all().map((row) => row.applied_at), [1_700_000_000_000, 1_700_000_000_000])
      db.close()
    }))

  it.effect("fails a read of a row it did not write, naming the column", () =>
    Effect.gen(function*() {
      const path = database()
      yield* use(path, Effect.void)
      const db = new DatabaseSync(path)
      db.prepare("INSERT INTO builds (id, organization, pipeline, number, updated_at) VALUES (?, ?, ?, ?, ?)").run("build-9", "org", "ci", "nine", 1)
      db.close()
      const error = yield* Effect.flip(use(path, Effect.gen(function*() {
        const store = yield* Store
        return yield* store.build("build-9")
      })))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "reading a build failed")
      assert.include(error.message, `["number"]`)
    }))

  it.effect("names the file it cannot open", () =>
    Effect.gen(function*() {
      const path = database()
      writeFileSync(path, "this is not a database, and not empty either: ".repeat(100))
      const error = yield* Effect.flip(use(path, Effect.void))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, path)
    }))
})
