import { Config, Context, Effect, FileSystem, Layer, Option, Redacted, Runtime, Schema } from "effect"
import { ExitCode } from "../domain/errors.ts"
import { Process, type ProcessError } from "../effects/Process.ts"

/**
 * The binary cache between steps: after `tool build`, what it built is signed and
 * copied (with its closure) to `CI_NIX_CACHE`, so that checks, deploys and later
 * builds on other agents substitute it instead of building it again.
 *
 * Settings, all optional, from the environment (the plugin can set them):
 * - `CI_NIX_CACHE`: any store URL Nix accepts (`file://…`, `s3://…`, `ssh-ng://…`,
 *   `https://…`); every Nix build the tool runs reads from it, and `tool build`
 *   pushes to it unless it is `http(s)://`, which Nix can only read.
 * - `CI_NIX_CACHE_PUBLIC_KEY`: the key (`name:base64`) a substituted path must be
 *   signed with; Nix refuses unsigned or wrongly signed paths.
 * - `CI_NIX_SIGNING_KEY_FILE`: the secret key's file (a secret: never printed); without
 *   it, paths are pushed unsigned (of use only to stores that do not ask for signatures).
 */

export interface CacheSettings {
  readonly url: string
  readonly publicKey: string | undefined
  readonly signingKeyFile: Redacted.Redacted<string> | undefined
}

const optional = (name: string) => Config.option(Config.NonEmptyString(name)).pipe(Config.map(Option.getOrUndefined))

/** The cache the environment names, if any. */
export const cacheSettings: Config.Config<CacheSettings | undefined> = Config.all({
  url: optional("CI_NIX_CACHE"),
  publicKey: optional("CI_NIX_CACHE_PUBLIC_KEY"),
  signingKeyFile: Config.option(Config.Redacted("CI_NIX_SIGNING_KEY_FILE")).pipe(Config.map(Option.getOrUndefined))
}).pipe(Config.map(({ url, ...rest }) => (url === undefined ? undefined : { url, ...rest })))

/** What every Nix build adds to read from the cache. */
export const substituterArgs = (settings: CacheSettings | undefined): ReadonlyArray<string> =>
  settings === undefined ? [] : [
    "--extra-substituters",
    settings.url,
    ...(settings.publicKey === undefined ? [] : ["--extra-trusted-public-keys", settings.publicKey])
  ]

/** Whether Nix can write to a store URL: HTTP binary caches are read-only to Nix. */
export const writable = (url: string): boolean => !/^https?:\/\//i.test(url)

export class CacheKeyUnreadable extends Schema.TaggedError<CacheKeyUnreadable>()("CacheKeyUnreadable", {
  detail: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    // The file's name is a secret too: only the variable is named.
    return `CI_NIX_SIGNING_KEY_FILE: ${this.detail}`
  }
}

export interface PathPushFailure {
  readonly path: string
  readonly error: string
}

export class CachePushFailed extends Schema.TaggedError<CachePushFailed>()("CachePushFailed", {
  cache: Schema.String,
  failures: Schema.Array(Schema.Struct({ path: Schema.String, error: Schema.String })),
  total: Schema.Int
}) {
  override get message() {
    const lines = this.failures.map((failure) => `  ${failure.path}: ${failure.error}`)
    return `${this.failures.length} of ${this.total} outputs did not reach the cache ${this.cache} (later steps will build them again):\n${lines.join("\n")}`
  }
}

/** A pushed output: where it went, or that nothing was configured to push to. */
export type PushOutcome =
  | { readonly _tag: "NoCache" }
  | { readonly _tag: "ReadOnly"; readonly cache: string }
  | { readonly _tag: "Pushed"; readonly cache: string; readonly paths: ReadonlyArray<string>; readonly signed: boolean }

const lastLine = (error: ProcessError): string => {
  const said = error._tag === "ProcessFailed" ? error.stderr.trim().split("\n").filter((line) => line.trim() !== "").at(-1) : undefined
  return (said ?? error.message).replace(/^error:\s*/, "")
}

export class BinaryCache extends Context.Service<BinaryCache, {
  readonly settings: CacheSettings | undefined
  /**
   * Sign these store paths and their closures with the signing key, then copy them
   * to the cache. Fails naming every path that did not get there, and why.
   */
  push(paths: ReadonlyArray<string>): Effect.Effect<PushOutcome, CachePushFailed | CacheKeyUnreadable>
}>()("ci/nix/BinaryCache") {
  static readonly layer = Layer.effect(
    BinaryCache,
    Effect.gen(function*() {
      const runner = yield* Process
      const fs = yield* FileSystem.FileSystem
      const settings = yield* cacheSettings.pipe(Effect.orDie)
      const common = ["--extra-experimental-features", "nix-command flakes"]

      const push = Effect.fn("BinaryCache.push")(function*(paths: ReadonlyArray<string>) {
        if (settings === undefined || paths.length === 0) return { _tag: "NoCache" } as const
        if (!writable(settings.url)) return { _tag: "ReadOnly", cache: settings.url } as const
        const cache = settings.url
        const failAll = (error: string) => new CachePushFailed({ cache, failures: paths.map((path) => ({ path, error })), total: paths.length })

        if (settings.signingKeyFile !== undefined) {
          const keyFile = settings.signingKeyFile
          // Signed from a private copy of the key that lives only as long as the signing, so
          // no command line (which errors show) names the secret's own file. (Nix cannot open
          // /dev/stdin when it is a socket, as Node's is.)
          yield* Effect.scoped(Effect.gen(function*() {
            const copy = yield* Effect.gen(function*() {
              const key = yield* fs.readFileString(Redacted.value(keyFile))
              const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ci-sign-" })
              yield* fs.writeFileString(`${dir}/key`, key, { mode: 0o600 })
              return `${dir}/key`
            }).pipe(Effect.mapError(() => new CacheKeyUnreadable({ detail: "cannot read the signing key file" })))
            yield* runner.run("nix", [...common, "store", "sign", "--recursive", "--key-file", copy, ...paths], { timeout: "1 hour" })
              .pipe(Effect.mapError((error) => failAll(`not signed: ${lastLine(error)}`)))
          }))
        }
        const copy = (batch: ReadonlyArray<string>) =>
          runner.run("nix", [...common, "copy", "--to", cache, ...batch], { timeout: "6 hours" })
        const whole = yield* copy(paths).pipe(Effect.result)
        if (whole._tag === "Failure") {
          // Which paths failed: each on its own, so the report names them.
          const failures = yield* Effect.forEach(
            paths,
            (path) => copy([path]).pipe(Effect.match({ onSuccess: () => [], onFailure: (error) => [{ path, error: lastLine(error) }] })),
            { concurrency: 4 }
          ).pipe(Effect.map((all) => all.flat()))
          return yield* new CachePushFailed({
            cache,
            failures: failures.length > 0 ? failures : paths.map((path) => ({ path, error: lastLine(whole.failure) })),
            total: paths.length
          })
        }
        return { _tag: "Pushed", cache, paths, signed: settings.signingKeyFile !== undefined } as const
      })

      return BinaryCache.of({ settings, push })
    })
  )
}
