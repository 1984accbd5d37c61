import { Config, Context, Effect, FileSystem, Layer, Option, Path, Runtime, Schema } from "effect"
import { pathToFileURL } from "node:url"
import { Process, type ProcessError } from "../effects/Process.ts"
import { ExitCode } from "../exitCode.ts"
import { FlakeEvaluationFromJson, type FlakeEvaluation } from "./FlakeEvaluation.ts"
import { formatNixError, summariseNixError } from "./nixError.ts"

/** Nix as `tool` uses it: evaluating a flake at a locked revision into plain data. */

export class NixEvalError extends Schema.TaggedError<NixEvalError>()("NixEvalError", {
  flakeRef: Schema.String,
  summary: Schema.String,
  stderr: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = ExitCode.BadInput
  override get message() {
    return this.summary
  }
}

export class NixUnavailable extends Schema.TaggedError<NixUnavailable>()("NixUnavailable", {
  detail: Schema.String
}) {
  override get message() {
    return `nix is not usable here: ${this.detail}`
  }
}

export class NixOutputInvalid extends Schema.TaggedError<NixOutputInvalid>()("NixOutputInvalid", {
  flakeRef: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `nix/ci-actions.nix returned data this tool does not understand for ${this.flakeRef}:\n${this.detail}`
  }
}

export interface FlakeSource {
  /** The top of the git work tree. */
  readonly repository: string
  /** The flake's directory relative to `repository` (`.` at the root). */
  readonly flakeDir: string
  readonly rev: string
  /** A shallow clone needs `shallow=1`, or Nix refuses to fetch from it. */
  readonly shallow: boolean
}

/** A `git+file` reference locked to a revision, which pure evaluation accepts. */
export const flakeRef = (source: FlakeSource): string => {
  const params = new URLSearchParams({ rev: source.rev })
  if (source.shallow) params.set("shallow", "1")
  if (source.flakeDir !== ".") params.set("dir", source.flakeDir)
  return `git+${pathToFileURL(source.repository).href}?${params.toString()}`
}

// A Nix string literal: JSON's escapes are Nix's, except that `${` must not start an antiquotation.
const nixString = (value: string): string => JSON.stringify(value).replaceAll("${", "\\${")

// Flakes may not be enabled in the user's configuration; asking for them is harmless when they are.
const commonArgs = ["--extra-experimental-features", "nix-command flakes"]

export class Nix extends Context.Service<Nix, {
  /** The system Nix builds for on this machine, for example `x86_64-linux`. */
  readonly currentSystem: Effect.Effect<string, NixUnavailable>
  /**
   * The flake's standard outputs for `system` and, with `withActions`, its `ciActions`
   * with every target resolved to an attribute path.
   */
  evaluate(
    source: FlakeSource,
    system: string,
    options: { readonly withActions: boolean }
  ): Effect.Effect<FlakeEvaluation, NixEvalError | NixUnavailable | NixOutputInvalid>
}>()("ci/nix/Nix") {
  static readonly layer = Layer.effect(
    Nix,
    Effect.gen(function*() {
      const runner = yield* Process
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path

      const nixDir = yield* locateNixFiles(fs, path)
      const libSource = yield* fs.readFileString(path.join(nixDir, "lib.nix"))
      const ciActionsSource = yield* fs.readFileString(path.join(nixDir, "ci-actions.nix"))

      const unavailable = (error: ProcessError) => new NixUnavailable({ detail: error.message })

      const currentSystem = runner
        .run("nix", [...commonArgs, "eval", "--impure", "--raw", "--expr", "builtins.currentSystem"], { timeout: "1 minute" })
        .pipe(
          Effect.map((result) => result.stdout.trim()),
          Effect.mapError(unavailable),
          Effect.withSpan("Nix.currentSystem")
        )

      // Where the flake's source is in the store, so an error's position can be shown
      // relative to the repository. Asked only after a failure; unknown is fine.
      // (`nix flake metadata` would also lock the inputs, which may mean the network.)
      const flakeSourcePath = (source: FlakeSource) =>
        runner.run("nix", [
          ...commonArgs,
          "eval",
          "--raw",
          "--expr",
          `(builtins.fetchGit { url = ${nixString(pathToFileURL(source.repository).href)}; rev = ${nixString(source.rev)}; shallow = ${source.shallow}; }).outPath`
        ], { timeout: "1 minute" }).pipe(
          Effect.map((result): string | undefined => result.stdout.trim()),
          Effect.orElseSucceed(() => undefined)
        )

      const evaluate = Effect.fn("Nix.evaluate")(function*(
        source: FlakeSource,
        system: string,
        options: { readonly withActions: boolean }
      ) {
        const ref = flakeRef(source)
        // Pure evaluation, with the library inlined: pure mode may not import files
        // outside the store, and an impure evaluation could see what a build cannot.
        const expression = `let lib = (${libSource}); in (${ciActionsSource}) { inherit lib; flake = builtins.getFlake ${
          nixString(ref)
        }; system = ${nixString(system)}; withActions = ${options.withActions}; }`
        const result = yield* runner
          .run("nix", [...commonArgs, "eval", "--json", "--show-trace", "--expr", expression], { allowFailure: true })
          .pipe(Effect.mapError(unavailable))
        if (result.exitCode !== 0) {
          const sourcePath = yield* flakeSourcePath(source)
          return yield* new NixEvalError({
            flakeRef: ref,
            summary: formatNixError(summariseNixError(result.stderr, sourcePath)),
            stderr: result.stderr
          })
        }
        return yield* Schema.decodeUnknownEffect(FlakeEvaluationFromJson)(result.stdout).pipe(
          Effect.mapError((error) => new NixOutputInvalid({ flakeRef: ref, detail: error.message }))
        )
      })

      return Nix.of({ currentSystem, evaluate })
    })
  )
}

/**
 * `nix/` beside the tool: from a checkout (`src/nix/Nix.ts` or `dist/tool.mjs`) or an
 * installed package, or wherever `CI_NIX_DIR` says.
 */
const locateNixFiles = Effect.fnUntraced(function*(fs: FileSystem.FileSystem, path: Path.Path) {
  const configured = yield* Config.option(Config.String("CI_NIX_DIR"))
  if (Option.isSome(configured)) return configured.value
  const here = path.dirname(yield* path.fromFileUrl(new URL(import.meta.url)))
  for (const up of ["..", "../..", "../../.."]) {
    const candidate = path.resolve(here, up, "nix")
    if (yield* fs.exists(path.join(candidate, "ci-actions.nix"))) return candidate
  }
  return yield* Effect.die(new Error(`cannot find nix/ci-actions.nix above ${here}; set CI_NIX_DIR`))
})
