import { Effect, Fiber, Option } from "effect"
import { Evaluations } from "../../nix/Evaluations.ts"
import type { FlakeSource } from "../../nix/flakeRef.ts"
import { Nix } from "../../nix/Nix.ts"
import type { Base } from "../../plan/Plan.ts"
import type { BaseCommit } from "./base.ts"

/** How `tool plan` has Nix evaluate the commits it compares, and for which system. */

/** Nix's name for this platform as Node sees it; Nix may be configured otherwise. */
const guessSystem = (): string | undefined => {
  const arch = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch]
  const os = ({ linux: "linux", darwin: "darwin" } as Record<string, string>)[process.platform]
  return arch === undefined || os === undefined ? undefined : `${arch}-${os}`
}

/**
 * The system to plan for: `--system`, else Node's guess. Asking Nix costs a process
 * before anything can be evaluated, so Nix confirms the guess meanwhile: `confirmed`
 * is what Nix says, and a plan made for another system is made again.
 */
export const planningSystem = Effect.fnUntraced(function*(flag: Option.Option<string>) {
  if (Option.isSome(flag)) return { system: flag.value, confirmed: Effect.succeed(flag.value) }
  const nix = yield* Nix
  const check = yield* Effect.forkChild(nix.currentSystem)
  return { system: guessSystem() ?? (yield* Fiber.join(check)), confirmed: Fiber.join(check) }
})

/**
 * The base, evaluated as a head is but without actions. One that cannot be
 * evaluated, or has no `ciActions`, is `Unavailable` with the reason: everything
 * then counts as changed.
 */
export const evaluateBase = Effect.fnUntraced(function*(
  commit: BaseCommit,
  source: (rev: string) => FlakeSource,
  system: string
): Effect.fn.Return<Base, never, Evaluations> {
  if (commit._tag === "Unavailable") return commit
  const evaluations = yield* Evaluations
  const unavailable = (reason: string): Base => ({
    _tag: "Unavailable",
    sha: commit.sha,
    reason: `base ${commit.sha.slice(0, 12)} ${reason}`,
    choice: commit.choice
  })
  return yield* evaluations.evaluate({ source: source(commit.sha), system, withActions: false }).pipe(
    Effect.map((evaluation): Base =>
      evaluation.hasCiActions ? { _tag: "Evaluated", sha: commit.sha, evaluation, choice: commit.choice } : unavailable("has no ciActions output")
    ),
    Effect.catch((error) => Effect.succeed(unavailable(`could not be evaluated: ${error.message.split("\n")[0]}`)))
  )
})

/**
 * The base evaluator of one system. Evaluations runs each request once per process,
 * however many bases (the builds', each action's) name the same commit.
 */
export const baseEvaluator = (source: (rev: string) => FlakeSource, system: string) => (commit: BaseCommit) =>
  evaluateBase(commit, source, system)
