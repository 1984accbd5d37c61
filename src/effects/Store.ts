import { Clock, Context, Effect, Layer, Schema } from "effect"
import type { DatabaseSync } from "node:sqlite"
import type { BuildRef } from "../domain/BuildkiteBuild.ts"

/**
 * The bot's state, in one SQLite file (WAL): which Discord message shows which
 * build, what it last showed, which builds still need refreshing, which
 * deliveries and interactions were seen. Every change is atomic (a savepoint in a transaction),
 * so a process killed at any moment leaves each change whole or not at all.
 *
 * node:sqlite runs on the thread that calls it, the one that answers requests, so
 * a commit must be rare and short. Changes wait in a queue for the end of the
 * current turn of the event loop, then one transaction takes them all (group
 * commit: one fsync for the many deliveries that came together); each change is
 * answered once its transaction is committed. What must survive a power cut once
 * acknowledged (a delivery, a dirty mark, a post, an interaction) is committed with `synchronous
 * = FULL`. What a refresh records and would record again (snapshots, renders,
 * approvable jobs) alone is committed with NORMAL, which does not wait for the
 * disk: a power cut may take back the last of those, never corrupt the file, and
 * the next FULL commit makes them durable too. Reads do not wait.
 */

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `the bot's database: ${this.operation} failed: ${this.detail}`
  }
}

/** A build the bot shows: the root of one Discord message (a CI build; its deploys join it). */
export interface TrackedBuild {
  readonly id: string
  readonly ref: BuildRef
  readonly messageId: string | undefined
  readonly messageCreatedAt: number | undefined
  /** Set just before a message is posted, cleared once its id is stored: a post that may have happened. */
  readonly postingNonce: string | undefined
  readonly renderedHash: string | undefined
  readonly dirty: boolean
  /** Which mark a refresh that starts now covers. */
  readonly dirtySeq: number
}

/** The last snapshot of a build, for never showing a finished build as running again. */
export interface Snapshot {
  readonly buildId: string
  readonly rank: number
  readonly body: string
}

export interface ApprovableJob {
  readonly jobId: string
  readonly rootId: string
  readonly ref: BuildRef
  readonly label: string
}

/** How long an interaction's id is remembered: one signed five minutes ahead is stale ten minutes after it came. */
export const interactionMemoryMillis = 10 * 60 * 1000

interface Root {
  readonly id: string
  readonly ref: BuildRef
}

// Each migration runs once, in order, in a transaction with its version's record.
const migrations: ReadonlyArray<string> = [
  `CREATE TABLE builds (
     id TEXT PRIMARY KEY,
     organization TEXT NOT NULL,
     pipeline TEXT NOT NULL,
     number INTEGER NOT NULL,
     message_id TEXT,
     message_created_at INTEGER,
     posting_nonce TEXT,
     rendered_hash TEXT,
     -- Marked for a refresh: dirty_seq counts marks, clean_seq the last mark a refresh covered.
     dirty_seq INTEGER NOT NULL DEFAULT 1,
     clean_seq INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE snapshots (
     build_id TEXT PRIMARY KEY,
     rank INTEGER NOT NULL,
     body TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE deliveries (
     id TEXT PRIMARY KEY,
     received_at INTEGER NOT NULL
   );
   CREATE INDEX deliveries_received_at ON deliveries (received_at);
   CREATE TABLE approvable_jobs (
     job_id TEXT PRIMARY KEY,
     root_id TEXT NOT NULL,
     organization TEXT NOT NULL,
     pipeline TEXT NOT NULL,
     number INTEGER NOT NULL,
     label TEXT NOT NULL
   );`,
  `CREATE TABLE interactions (
     id TEXT PRIMARY KEY,
     received_at INTEGER NOT NULL
   );
   CREATE INDEX interactions_received_at ON interactions (received_at);`
]

// Rows as node:sqlite returns them, decoded: a row the migrations above did not make fails, naming its column.
const BuildRow = Schema.Struct({
  id: Schema.String,
  organization: Schema.String,
  pipeline: Schema.String,
  number: Schema.Int,
  message_id: Schema.NullOr(Schema.String),
  message_created_at: Schema.NullOr(Schema.Int),
  posting_nonce: Schema.NullOr(Schema.String),
  rendered_hash: Schema.NullOr(Schema.String),
  dirty_seq: Schema.Int,
  clean_seq: Schema.Int
})
const SnapshotRow = Schema.Struct({ rank: Schema.Int, body: Schema.String })
const ApprovableRow = Schema.Struct({
  job_id: Schema.String,
  root_id: Schema.String,
  organization: Schema.String,
  pipeline: Schema.String,
  number: Schema.Int,
  label: Schema.String
})
const VersionRow = Schema.Struct({ version: Schema.Int })

/** A decoder of what `get` (a row or undefined) or `all` returns, throwing as node:sqlite does, so a bad row fails its operation. */
const rows = <A>(table: string, schema: Schema.Decoder<A>) => {
  const decode = Schema.decodeUnknownSync(schema)
  return (value: unknown): A => {
    try {
      return decode(value)
    } catch (error) {
      throw new Error(`unexpected data in ${table}: ${Schema.isSchemaError(error) ? error.message : String(error)}`)
    }
  }
}
const decodeBuild = rows("builds", Schema.UndefinedOr(BuildRow))
const decodeBuilds = rows("builds", Schema.Array(BuildRow))
const decodeSnapshot = rows("snapshots", Schema.UndefinedOr(SnapshotRow))
const decodeApprovable = rows("approvable_jobs", Schema.UndefinedOr(ApprovableRow))
const decodeVersion = rows("schema_migrations", VersionRow)

const toTracked = (row: typeof BuildRow.Type): TrackedBuild => ({
  id: row.id,
  ref: { organization: row.organization, pipeline: row.pipeline, number: row.number },
  messageId: row.message_id ?? undefined,
  messageCreatedAt: row.message_created_at ?? undefined,
  postingNonce: row.posting_nonce ?? undefined,
  renderedHash: row.rendered_hash ?? undefined,
  dirty: row.dirty_seq > row.clean_seq,
  dirtySeq: row.dirty_seq
})

/** A change waiting for the next commit. */
interface Change {
  /** Must survive a power cut once answered: committed with synchronous = FULL. */
  readonly durable: boolean
  readonly apply: () => unknown
  readonly done: (outcome: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly detail: string }) => void
}

export class Store extends Context.Service<Store, {
  /**
   * Record a delivery and mark its build for a refresh, together. False, and
   * nothing changed, when the delivery was seen before.
   */
  accept(delivery: string | undefined, root: Root, now: number): Effect.Effect<boolean, StoreError>
  /**
   * Record an interaction's id. False when it was seen in the last ten minutes
   * (`interactionMemoryMillis`); older ones are forgotten.
   */
  acceptInteraction(id: string, now: number): Effect.Effect<boolean, StoreError>
  /** Mark a build for a refresh. */
  markDirty(root: Root, now: number): Effect.Effect<void, StoreError>
  build(id: string): Effect.Effect<TrackedBuild | undefined, StoreError>
  dirtyBuilds: Effect.Effect<ReadonlyArray<TrackedBuild>, StoreError>
  startPosting(id: string, nonce: string, now: number): Effect.Effect<void, StoreError>
  posted(id: string, messageId: string, now: number): Effect.Effect<void, StoreError>
  /** A refresh that started at mark `seq` is done; a mark made since keeps the build dirty. */
  rendered(id: string, hash: string, seq: number, now: number): Effect.Effect<void, StoreError>
  /**
   * Keep this snapshot of a build, unless the one kept is further along (a higher
   * rank): then that one's body, to be shown instead.
   */
  settle(snapshot: Snapshot, now: number): Effect.Effect<string | undefined, StoreError>
  saveSnapshot(snapshot: Snapshot, now: number): Effect.Effect<void, StoreError>
  saveApprovable(jobs: ReadonlyArray<ApprovableJob>, rootId: string): Effect.Effect<void, StoreError>
  approvable(jobId: string): Effect.Effect<ApprovableJob | undefined, StoreError>
  /** Forget deliveries older than this: a replay that old fails its timestamp check anyway. */
  forgetDeliveriesBefore(time: number): Effect.Effect<void, StoreError>
}>()("ci/effects/Store") {
  static readonly layer = (path: string) =>
    Layer.effect(
      Store,
      Effect.gen(function*() {
        let queue: Array<Change> = []
        let closed = false
        const db = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () => openDatabase(path),
            catch: (error) => new StoreError({ operation: `opening ${path}`, detail: String(error) })
          }),
          (db) =>
            Effect.sync(() => {
              commit()
              closed = true
              db.close()
            })
        )

        const run = <A>(operation: string, f: () => A): Effect.Effect<A, StoreError> =>
          Effect.try({ try: f, catch: (error) => new StoreError({ operation, detail: String(error) }) })

        const openedAt = yield* Clock.currentTimeMillis
        yield* run("migrating", () => {
          db.exec("BEGIN IMMEDIATE")
          try {
            db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            const applied = decodeVersion(db.prepare("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations").get()).version
            migrations.slice(applied).forEach((sql, i) => {
              db.exec(sql)
              db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(applied + i + 1, openedAt)
            })
            db.exec("COMMIT")
          } catch (error) {
            db.exec("ROLLBACK")
            throw error
          }
        })

        // Prepared once: a request runs statements, it does not compile them.
        const statement = yield* run("preparing statements", () => ({
          delivery: db.prepare("INSERT OR IGNORE INTO deliveries (id, received_at) VALUES (?, ?)"),
          interaction: db.prepare("INSERT OR IGNORE INTO interactions (id, received_at) VALUES (?, ?)"),
          forgetInteractions: db.prepare("DELETE FROM interactions WHERE received_at < ?"),
          dirty: db.prepare(
            `INSERT INTO builds (id, organization, pipeline, number, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET dirty_seq = dirty_seq + 1, updated_at = excluded.updated_at`
          ),
          build: db.prepare("SELECT * FROM builds WHERE id = ?"),
          dirtyBuilds: db.prepare("SELECT * FROM builds WHERE dirty_seq > clean_seq"),
          startPosting: db.prepare("UPDATE builds SET posting_nonce = ?, updated_at = ? WHERE id = ?"),
          posted: db.prepare("UPDATE builds SET message_id = ?, message_created_at = ?, posting_nonce = NULL, updated_at = ? WHERE id = ?"),
          rendered: db.prepare("UPDATE builds SET rendered_hash = ?, clean_seq = MAX(clean_seq, ?), updated_at = ? WHERE id = ?"),
          snapshot: db.prepare("SELECT rank, body FROM snapshots WHERE build_id = ?"),
          saveSnapshot: db.prepare(
            `INSERT INTO snapshots (build_id, rank, body, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (build_id) DO UPDATE SET rank = excluded.rank, body = excluded.body, updated_at = excluded.updated_at
             WHERE snapshots.rank IS NOT excluded.rank OR snapshots.body IS NOT excluded.body`
          ),
          forgetApprovable: db.prepare("DELETE FROM approvable_jobs WHERE root_id = ?"),
          approvable: db.prepare(
            "INSERT OR REPLACE INTO approvable_jobs (job_id, root_id, organization, pipeline, number, label) VALUES (?, ?, ?, ?, ?, ?)"
          ),
          approvableJob: db.prepare("SELECT * FROM approvable_jobs WHERE job_id = ?"),
          forgetDeliveries: db.prepare("DELETE FROM deliveries WHERE received_at < ?")
        }))

        /** Everything queued, in one transaction; each change in a savepoint, so one failing takes back only its own. */
        function commit() {
          const batch = queue
          queue = []
          if (batch.length === 0) return
          if (closed) return batch.forEach((change) => change.done({ ok: false, detail: "the database is closed" }))
          const outcomes: Array<Parameters<Change["done"]>[0]> = []
          try {
            db.exec(`PRAGMA synchronous = ${batch.some((change) => change.durable) ? "FULL" : "NORMAL"}`)
            db.exec("BEGIN IMMEDIATE")
            for (const change of batch) {
              db.exec("SAVEPOINT change")
              try {
                const value = change.apply()
                db.exec("RELEASE change")
                outcomes.push({ ok: true, value })
              } catch (error) {
                db.exec("ROLLBACK TO change")
                db.exec("RELEASE change")
                outcomes.push({ ok: false, detail: String(error) })
              }
            }
            db.exec("COMMIT")
          } catch (error) {
            if (db.isTransaction) db.exec("ROLLBACK")
            return batch.forEach((change) => change.done({ ok: false, detail: `committing: ${String(error)}` }))
          }
          batch.forEach((change, i) => change.done(outcomes[i]!))
        }

        /** A change, answered once committed. */
        const change = <A>(operation: string, durable: boolean, apply: () => A) =>
          Effect.callback<A, StoreError>((resume) => {
            if (queue.length === 0) setImmediate(commit)
            queue.push({
              durable,
              apply,
              done: (outcome) => resume(outcome.ok ? Effect.succeed(outcome.value as A) : Effect.fail(new StoreError({ operation, detail: outcome.detail })))
            })
          })

        const dirty = (root: Root, now: number) => statement.dirty.run(root.id, root.ref.organization, root.ref.pipeline, root.ref.number, now)

        return Store.of({
          accept: (delivery, root, now) =>
            change("recording a delivery", true, () => {
              if (delivery !== undefined && statement.delivery.run(delivery, now).changes === 0) return false
              dirty(root, now)
              return true
            }),
          acceptInteraction: (id, now) =>
            change("recording an interaction", true, () => {
              statement.forgetInteractions.run(now - interactionMemoryMillis)
              return statement.interaction.run(id, now).changes === 1
            }),
          markDirty: (root, now) => change("marking a build", true, () => void dirty(root, now)),
          build: (id) =>
            run("reading a build", () => {
              const row = decodeBuild(statement.build.get(id))
              return row === undefined ? undefined : toTracked(row)
            }),
          dirtyBuilds: run("listing builds to refresh", () => decodeBuilds(statement.dirtyBuilds.all()).map(toTracked)),
          startPosting: (id, nonce, now) => change("recording a post", true, () => void statement.startPosting.run(nonce, now, id)),
          posted: (id, messageId, now) => change("recording a message", true, () => void statement.posted.run(messageId, now, now, id)),
          rendered: (id, hash, seq, now) => change("recording a render", false, () => void statement.rendered.run(hash, seq, now, id)),
          settle: (snapshot, now) =>
            change("keeping a snapshot", false, () => {
              const stored = decodeSnapshot(statement.snapshot.get(snapshot.buildId))
              if (stored !== undefined && stored.rank > snapshot.rank) return stored.body
              statement.saveSnapshot.run(snapshot.buildId, snapshot.rank, snapshot.body, now)
              return undefined
            }),
          saveSnapshot: (snapshot, now) =>
            change("saving a snapshot", false, () => void statement.saveSnapshot.run(snapshot.buildId, snapshot.rank, snapshot.body, now)),
          saveApprovable: (jobs, rootId) =>
            change("recording approvable jobs", false, () => {
              statement.forgetApprovable.run(rootId)
              for (const job of jobs) statement.approvable.run(job.jobId, rootId, job.ref.organization, job.ref.pipeline, job.ref.number, job.label)
            }),
          approvable: (jobId) =>
            run("reading an approvable job", () => {
              const row = decodeApprovable(statement.approvableJob.get(jobId))
              return row === undefined ? undefined : {
                jobId: row.job_id,
                rootId: row.root_id,
                ref: { organization: row.organization, pipeline: row.pipeline, number: row.number },
                label: row.label
              }
            }),
          forgetDeliveriesBefore: (time) => change("forgetting deliveries", false, () => void statement.forgetDeliveries.run(time))
        })
      })
    )
}

/**
 * node:sqlite, without its warning that SQLite support is experimental in Node:
 * the warning would be the first line of every bot's log.
 */
const openDatabase = async (path: string): Promise<DatabaseSync> => {
  const emitWarning = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: Array<unknown>) => {
    if (!String(warning).includes("SQLite")) (emitWarning as (...args: Array<unknown>) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    const { DatabaseSync } = await import("node:sqlite")
    const db = new DatabaseSync(path)
    db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
    return db
  } finally {
    process.emitWarning = emitWarning
  }
}
