import { isAbsolute, join, resolve } from "node:path"
import { type FlakeSource, flakeRef } from "./flakeRef.ts"

/**
 * The `nix eval` that evaluates a flake for ci, and what keys its result in the cache:
 * pure functions, without effect, because a plan starts its evaluations before the rest
 * of the tool has loaded (src/commands/plan/prestart.ts), and the process it starts is
 * used only when it is exactly the one `Nix.evaluate` would start.
 */

// Loaded when first hashed: a plan without the cache starts its evaluations without it (node:crypto
// costs Node about 8 ms to load).
const sha256 = (...parts: ReadonlyArray<string>): string => {
  const hash = process.getBuiltinModule("node:crypto").createHash("sha256")
  for (const part of parts) hash.update(part)
  return hash.digest("hex")
}

// Flakes may not be enabled in the user's configuration; asking for them is harmless when they are.
export const commonArgs = ["--extra-experimental-features", "nix-command flakes"]

/** Nix's system and version, in one process (`Nix.currentSystem`, `Nix.version`). */
export const aboutArgs: ReadonlyArray<string> = [...commonArgs, "eval", "--impure", "--json", "--expr", "[ builtins.currentSystem builtins.nixVersion ]"]

/** A Nix string literal: JSON's escapes are Nix's, except that `${` must not start an antiquotation. */
export const nixString = (value: string): string => JSON.stringify(value).replaceAll("${", "\\${")

/** The tool's Nix files, as `nix eval --expr` inlines them. */
export interface NixSources {
  readonly lib: string
  readonly ciActions: string
}

export const nixSourceFiles = { lib: "lib.nix", ciActions: "ci-actions.nix" } as const

/**
 * Where `nix/` may be, for a module at `moduleDir`: beside a checkout's `src/nix/`, a
 * bundle's `dist/` or `dist/chunks/`, or an installed package's.
 */
export const nixDirCandidates = (moduleDir: string): ReadonlyArray<string> => ["..", "../..", "../../.."].map((up) => resolve(moduleDir, up, "nix"))

/** Nix's name for this platform as Node sees it; Nix may be configured otherwise. */
export const guessSystem = (): string | undefined => {
  const arch = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch]
  const os = ({ linux: "linux", darwin: "darwin" } as Record<string, string>)[process.platform]
  return arch === undefined || os === undefined ? undefined : `${arch}-${os}`
}

/**
 * A flake evaluated for one system, with its actions or not, the outputs in `skip` left out,
 * by worker `worker` of `workers` (src/nix/workerEvaluations.ts).
 */
export interface EvaluationSpec {
  readonly source: FlakeSource
  readonly system: string
  readonly withActions: boolean
  readonly skip: ReadonlyArray<ReadonlyArray<string>>
  readonly worker: number
  readonly workers: number
}

/**
 * Pure evaluation, with the library inlined: pure mode may not import files outside
 * the store, and an impure evaluation could see what a build cannot. The work tree
 * has no revision to lock: getFlake takes it only when impure, as `nix build .#x` does.
 */
export const flakeEvalArgs = (source: FlakeSource, expression: (flake: string) => string): ReadonlyArray<string> => [
  ...commonArgs,
  "eval",
  "--json",
  "--show-trace",
  ...(source.rev === undefined ? ["--impure"] : []),
  "--expr",
  expression(`(builtins.getFlake ${nixString(flakeRef(source))})`)
]

export const evaluationArgs = (sources: NixSources, spec: EvaluationSpec): ReadonlyArray<string> =>
  flakeEvalArgs(spec.source, (flake) =>
    `let lib = (${sources.lib}); in (${sources.ciActions}) { inherit lib; flake = ${flake}; system = ${nixString(spec.system)}; withActions = ${spec.withActions}; skip = builtins.fromJSON ${
      nixString(JSON.stringify(spec.skip))
    }; worker = ${spec.worker}; workers = ${spec.workers}; }`)

/**
 * How an evaluation's output is taken (`Process.run`'s options; the head start's too, which must
 * match): through a file, since Nix 2.8 writes the JSON 4 KiB at a time as it evaluates.
 */
export const evaluationOutput = { stdoutViaFile: true } as const

/** What the tool's Nix files are, for the cache: an evaluation by other files is another evaluation. */
export const evaluatorOf = (sources: NixSources): string => sha256(sources.lib, "\0", sources.ciActions)

/**
 * An entry's format: bump it when what an entry holds changes meaning; the evaluation's
 * own shape is checked on read.
 */
export const cacheFormat = 2

/**
 * What decides an evaluation: the commit (not only its tree: a flake sees `self.rev`,
 * `self.lastModified` and, unless shallow, `self.revCount`), the flake's directory,
 * the system, the tool's nix/ files, and Nix. The repository's path is left out: two
 * clones of one commit evaluate alike, and agents check out into different places.
 */
export const cacheKey = (source: FlakeSource, system: string, evaluator: string, nixIdentity: string): string =>
  sha256(JSON.stringify([cacheFormat, source.rev, source.shallow, source.flakeDir, system, evaluator, nixIdentity]))

/** How an entry begins: whether it holds actions is said first, so a look at its start tells. */
export const cacheEntryText = (withActions: boolean, evaluation: unknown): string => JSON.stringify({ format: cacheFormat, withActions, evaluation })

/**
 * Whether an entry that begins so (undefined: there is none) serves a request with or without
 * actions: one with them serves both (the evaluation is decoded, and checked, on read).
 */
export const cacheEntryServes = (start: string | undefined, withActions: boolean): boolean =>
  start !== undefined && (!withActions || start.startsWith(cacheEntryText(true, null).slice(0, -"null}".length)))

/** `$XDG_CACHE_HOME/ci/evaluations`, else `~/.cache/ci/evaluations`; a relative XDG_CACHE_HOME is ignored, as XDG says. */
export const cacheDirectory = (xdgCacheHome: string | undefined, home: string): string =>
  join(xdgCacheHome !== undefined && isAbsolute(xdgCacheHome) ? xdgCacheHome : join(home, ".cache"), "ci", "evaluations")
