import { Console, Effect, Layer, Option, Path, Result } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { parseInstallable, showAttrPath } from "../domain/installable.ts"
import { Git } from "../effects/Git.ts"
import { Derivations } from "../nix/Derivations.ts"
import type { Output } from "../nix/FlakeEvaluation.ts"
import { flakeInputChanges } from "../nix/flakeLock.ts"
import { type FlakeSource, flakeLockPath } from "../nix/flakeRef.ts"
import { Nix } from "../nix/Nix.ts"
import { findOutput, nearestOutput } from "../plan/attribute.ts"
import type { OutputWhy } from "../plan/why.ts"
import { flakeInputsLine, whyTree } from "../render/why.ts"
import { notInGit } from "./plan/checkout.ts"
import { services } from "./services.ts"
import type { WhyFlags } from "./why/flags.ts"

/** What the comparison found, before it is printed. */
type Answer =
  | { readonly status: "changed"; readonly explained: OutputWhy; readonly flakeInputs: ReturnType<typeof flakeInputChanges> }
  | { readonly status: "unchanged" | "added" | "removed" | "base-unavailable"; readonly detail: string }

const short = (sha: string) => sha.slice(0, 12)

const explainWhy = Effect.fn("why")(function*(input: WhyFlags) {
  const git = yield* Git
  const nix = yield* Nix
  const derivations = yield* Derivations
  const path = yield* Path.Path

  if (input.depth < 0) return yield* new PlanInputError({ place: "--depth", detail: `must be 0 or more, got ${input.depth}` })
  const wanted = parseInstallable(`.#${input.attr}`)?.attrPath
  if (wanted === undefined) {
    return yield* new PlanInputError({ place: JSON.stringify(input.attr), detail: "not an attribute path such as packages.x86_64-linux.bot" })
  }

  const flakePath = path.resolve(input.flake)
  const headRev = Option.getOrElse(input.head, () => "HEAD")
  const baseRev = Option.getOrElse(input.base, () => `${headRev}^`)
  const [, checkout, [headSha, baseSha], system] = yield* Effect.all([
    nix.version,
    git.inspect(flakePath).pipe(
      Effect.mapError(() => notInGit(flakePath))
    ),
    git.resolveCommits(flakePath, [headRev, baseRev]),
    Option.match(input.system, { onNone: () => nix.currentSystem, onSome: Effect.succeed })
  ], { concurrency: "unbounded" })
  const repository = checkout.toplevel
  const head = yield* Effect.fromOption(headSha!, () =>
    new PlanInputError({ place: Option.isSome(input.head) ? "--head" : "HEAD", detail: `${headRev} is not a commit in ${repository}` }))
  const base = yield* Effect.fromOption(baseSha!, () =>
    new PlanInputError({
      place: "--base",
      detail: Option.isSome(input.base)
        ? `${baseRev} is not a commit in ${repository}`
        : `${short(head)} has no parent commit in this clone; pass --base`
    }))

  const flakeDir = path.relative(repository, flakePath) || "."
  const source = (rev: string): FlakeSource => ({ repository, flakeDir, rev, shallow: checkout.shallow })
  const lockPath = flakeLockPath(flakeDir)
  const [headEvaluation, baseEvaluation, baseLock, headLock, dirty] = yield* Effect.all([
    nix.evaluate(source(head), system, { withActions: false }),
    nix.evaluate(source(base), system, { withActions: false }).pipe(Effect.result),
    git.fileAt(repository, base, lockPath),
    git.fileAt(repository, head, lockPath),
    Option.isSome(input.head) ? Effect.succeed(false) : git.isDirty(repository)
  ], { concurrency: "unbounded" })
  if (dirty) yield* Console.error(`warning: the work tree has uncommitted changes; comparing commits ${short(base)} and ${short(head)}`)

  const baseOutputs = Result.isSuccess(baseEvaluation) ? baseEvaluation.success.outputs : []
  const found = findOutput(headEvaluation.outputs, wanted, system) ?? findOutput(baseOutputs, wanted, system)
  if (found === undefined) {
    const nearest = nearestOutput(headEvaluation.outputs, input.attr)
    return yield* new PlanInputError({
      place: JSON.stringify(input.attr),
      detail: `no package, check, devShell, formatter or app of that name for ${system} at ${short(head)}${
        nearest === undefined ? "" : `; did you mean ${showAttrPath(nearest.attrPath)}?`
      }`
    })
  }
  const attrPath = showAttrPath(found.attrPath)
  const at = (outputs: ReadonlyArray<Output>) => outputs.find((output) => showAttrPath(output.attrPath) === attrPath)
  const atHead = at(headEvaluation.outputs)
  const atBase = at(baseOutputs)
  if (atHead !== undefined && atHead.storePath === null) {
    return yield* new PlanInputError({
      place: attrPath,
      detail: `does not evaluate at ${short(head)}: ${atHead.error ?? "no reason given"}`
    })
  }

  const answer: Answer = yield* Effect.gen(function*(): Effect.fn.Return<Answer> {
    if (Result.isFailure(baseEvaluation)) {
      return {
        status: "base-unavailable",
        detail: `base ${short(base)} could not be evaluated, so everything counts as changed: ${baseEvaluation.failure.message.split("\n")[0]}`
      }
    }
    if (atHead === undefined) return { status: "removed", detail: `${attrPath} is at ${short(base)} but not at ${short(head)}` }
    if (atBase === undefined) return { status: "added", detail: `${attrPath} is new: it is not at ${short(base)}` }
    if (atBase.storePath === atHead.storePath) {
      return { status: "unchanged", detail: `${attrPath} is unchanged from ${short(base)} to ${short(head)}: ${atHead.storePath}` }
    }
    const headDrv = atHead.drvPath ?? null
    const storeDir = headDrv === null ? "/nix/store" : headDrv.slice(0, headDrv.lastIndexOf("/"))
    const flakeInputs = flakeInputChanges(Option.getOrUndefined(baseLock), Option.getOrUndefined(headLock), storeDir)
    const [explained] = yield* derivations.explain([{ attrPath, base: atBase.drvPath ?? null, head: headDrv }], {
      depth: input.depth,
      flakeInputs
    })
    return { status: "changed", explained: explained!, flakeInputs }
  })

  if (input.format === "json") {
    const details = answer.status === "changed"
      ? { ...answer.explained, flakeInputs: answer.flakeInputs }
      : { attrPath, detail: answer.detail }
    yield* Console.log(JSON.stringify({ status: answer.status, baseCommit: base, headCommit: head, ...details }, null, 2))
    return
  }
  if (answer.status !== "changed") {
    yield* Console.log(answer.detail)
    return
  }
  const { explained, flakeInputs } = answer
  const lines = [
    `${attrPath} changed from ${short(base)} to ${short(head)}`,
    ...(flakeInputs.length === 0 ? [] : [`flake inputs updated: ${flakeInputsLine(flakeInputs)}`]),
    ...(explained.error === null ? [] : [`cannot say why: ${explained.error}`]),
    ...whyTree(explained.why),
    ...(explained.error === null && explained.why.length === 0
      ? ["the derivations differ only in store paths that nothing in them explains"]
      : [])
  ]
  yield* Console.log(lines.join("\n"))
})

/** `tool why`: its flags and help are src/cli/why.ts's. */
export const why = (input: WhyFlags) => explainWhy(input).pipe(Effect.provide(Layer.merge(services, Derivations.layer)))
