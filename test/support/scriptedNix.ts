import { Effect, Layer } from "effect"
import { ProcessFailed, ProcessSpawnFailed } from "../../src/effects/Process.ts"
import { BuildLog } from "../../src/nix/buildLog.ts"
import { Nix, NixUnavailable } from "../../src/nix/Nix.ts"

/**
 * How an attempt's preparation ends: `ok`; its build failing, for a transient or a
 * permanent reason in Nix's words; Nix unable to reach its store (the store query
 * exits saying so); or no nix to run at all.
 */
export type Ending = "ok" | "transient" | "permanent" | "unreachable" | "no-nix"

const app = "/nix/store/00000000000000000000000000000000-deploy"
const failureText = {
  transient: "unable to download 'https://cache.example.com/abc.narinfo': HTTP error 503",
  permanent: "builder for '/nix/store/00000000000000000000000000000000-deploy.drv' failed with exit code 2"
}
const query = `nix-store --check-validity --print-invalid ${app}`
const unavailable = {
  unreachable: new NixUnavailable({
    cause: new ProcessFailed({
      command: query,
      exitCode: 1,
      stderr: "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused\n"
    })
  }),
  "no-nix": new NixUnavailable({ cause: new ProcessSpawnFailed({ command: query, detail: "spawn nix-store ENOENT" }) })
}

/**
 * A Nix service for `tool deploy`: every installable resolves to one app; each
 * attempt (one `resolve`) ends as the script says. Its output is missing until the
 * attempt's build, and present after it when the attempt ends `ok`.
 */
export const scriptedNix = (script: ReadonlyArray<Ending>) => {
  let attempt = 0
  let built = false
  const ending = () => script[attempt - 1] ?? "ok"
  const unused = Effect.die("not used by deploy")
  return Layer.succeed(
    Nix,
    Nix.of({
      currentSystem: unused,
      evaluate: () => unused,
      evaluator: "unused",
      version: unused,
      requisites: () => unused,
      toBuild: () => unused,
      outputsOf: () => unused,
      resolve: (installables) =>
        Effect.sync(() => {
          attempt++
          built = false
          return installables.map((installable) => ({
            _tag: "App" as const,
            installable,
            program: `${app}/bin/deploy`,
            derivations: [`${app}.drv`],
            outputs: { out: app }
          }))
        }),
      invalidPaths: () =>
        Effect.suspend(() => {
          const end = ending()
          if (end === "unreachable" || end === "no-nix") return Effect.fail(unavailable[end])
          return Effect.succeed(built && end === "ok" ? new Set<string>() : new Set([app]))
        }),
      build: () =>
        Effect.sync(() => {
          const end = ending()
          built = true
          const log = new BuildLog()
          if (end === "transient" || end === "permanent") log.errors.push(failureText[end])
          return { exitCode: end === "ok" ? 0 : 1, log, stderrTail: "" }
        })
    })
  )
}
