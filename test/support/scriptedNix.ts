import { Effect, Layer } from "effect"
import { BuildLog } from "../../src/nix/buildLog.ts"
import { Nix } from "../../src/nix/Nix.ts"

export type Ending = "transient" | "permanent" | "ok"

const app = "/nix/store/00000000000000000000000000000000-deploy"
const failureText: Record<Exclude<Ending, "ok">, string> = {
  transient: "unable to download 'https://cache.example.com/abc.narinfo': HTTP error 503",
  permanent: "builder for '/nix/store/00000000000000000000000000000000-deploy.drv' failed with exit code 2"
}

/**
 * A Nix service for `tool deploy`: every installable resolves to one app, whose
 * output is missing before each attempt's build and, after it, present when the
 * script says that attempt ends `ok`; a failed build's log says why, in words
 * `classifyFailure` reads as transient or permanent.
 */
export const scriptedNix = (script: ReadonlyArray<Ending>) => {
  let attempt = 0
  let built = false
  const unused = Effect.die("not used by deploy")
  return Layer.succeed(
    Nix,
    Nix.of({
      currentSystem: unused,
      evaluate: () => unused,
      version: unused,
      requisites: () => unused,
      resolve: (installables) =>
        Effect.succeed(installables.map((installable) => ({
          _tag: "App" as const,
          installable,
          program: `${app}/bin/deploy`,
          derivations: [`${app}.drv`],
          outputs: { out: app }
        }))),
      // Before each attempt's build the output is missing; after it, present when the script says so.
      invalidPaths: () => Effect.sync(() => (built && script[attempt - 1] === "ok" ? new Set<string>() : new Set([app]))),
      build: () =>
        Effect.sync(() => {
          const ending = script[attempt++] ?? "ok"
          built = true
          const log = new BuildLog()
          if (ending !== "ok") log.errors.push(failureText[ending])
          return { exitCode: ending === "ok" ? 0 : 1, log, stderrTail: "" }
        })
    })
  )
}
