import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Result } from "effect"
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { Process } from "../../src/effects/Process.ts"
import { type EvaluationRequest, Evaluations } from "../../src/nix/Evaluations.ts"
import { Nix } from "../../src/nix/Nix.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { repoRoot } from "../support/paths.ts"
import { runTool } from "../support/tool.ts"

/**
 * The evaluation cache, against real Nix and git. Each layer built here is a fresh
 * service, as a new `tool` process would have, sharing only the cache directory;
 * the real Nix service is wrapped to count the evaluations it is asked for.
 */

const flake = (version: string) =>
  fixtureFlake({
    outputs: `packages.x86_64-linux.a = drv "a" [ "${version}" ];\n      packages.x86_64-linux.b = drv "b" [ "b" ];`,
    ciActions: `ci.lib.mkActions { inherit self; actions.go = { builds = [ p.a ]; }; }`
  })

const history = () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const first = repo.commit("first", { "flake.nix": flake("1") })
  const second = repo.commit("second", { "flake.nix": flake("2") })
  const dir = realpathSync(repo.dir)
  const request = (rev: string, withActions = true, system = "x86_64-linux"): EvaluationRequest => ({
    source: { repository: dir, flakeDir: ".", rev, shallow: false },
    system,
    withActions
  })
  return { dir, first, second, request }
}

interface Counted {
  /** The revisions Nix was asked to evaluate, in order. */
  readonly evaluated: Array<string>
}

const service = (
  cache: { readonly directory: string; readonly enabled?: boolean; readonly maxBytes?: number },
  nixOptions: { readonly nixDir?: string; readonly path?: string } = {}
) => {
  const counted: Counted = { evaluated: [] }
  // The Nix service finds its nix/ files where CI_NIX_DIR says; Evaluations tells one Nix from
  // another by the `nix` first on PATH.
  const config = ConfigProvider.layerAdd(
    ConfigProvider.fromEnvRecord({
      ...(nixOptions.nixDir === undefined ? {} : { CI_NIX_DIR: nixOptions.nixDir }),
      ...(nixOptions.path === undefined ? {} : { PATH: nixOptions.path })
    }),
    { asPrimary: true }
  )
  const nix = Layer.effect(
    Nix,
    Effect.gen(function*() {
      const real = yield* Nix
      return Nix.of({
        ...real,
        evaluate: (source, system, options) =>
          Effect.sync(() => counted.evaluated.push(source.rev ?? "work tree")).pipe(Effect.andThen(real.evaluate(source, system, options)))
      })
    })
  ).pipe(Layer.provide(Nix.layer), Layer.provide(config))
  const layer = Evaluations.layer({ cache: cache.enabled ?? true, directory: cache.directory, maxBytes: cache.maxBytes }).pipe(
    Layer.provide(config),
    Layer.provide(nix),
    Layer.provide(Process.layer),
    Layer.provide(NodeServices.layer)
  )
  return { counted, layer }
}

const entries = (directory: string) => existsSync(directory) ? readdirSync(directory).sort() : []

const evaluateWith = (
  made: { readonly layer: Layer.Layer<Evaluations, unknown> },
  request: EvaluationRequest
) => Effect.gen(function*() {
  return yield* (yield* Evaluations).evaluate(request)
}).pipe(Effect.provide(made.layer))

describe("Evaluations", () => {
  it.live("evaluates a commit once: a second process reads it from the cache, with or without actions", () =>
    Effect.gen(function*() {
      const { second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      const first = service({ directory })
      const evaluated = yield* evaluateWith(first, request(second))
      assert.deepStrictEqual(first.counted.evaluated, [second])
      assert.strictEqual(entries(directory).length, 1)

      const again = service({ directory })
      assert.deepStrictEqual(yield* evaluateWith(again, request(second)), evaluated)
      const asBase = yield* evaluateWith(again, request(second, false))
      assert.deepStrictEqual(again.counted.evaluated, [])
      assert.deepStrictEqual(asBase, { ...evaluated, actions: null })
      assert.isNotNull(evaluated.actions)
    }))

  it.live("an entry without actions does not serve a request for them, and is replaced by one with them", () =>
    Effect.gen(function*() {
      const { second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      yield* evaluateWith(service({ directory }), request(second, false))
      const withActions = service({ directory })
      const evaluated = yield* evaluateWith(withActions, request(second, true))
      assert.deepStrictEqual(withActions.counted.evaluated, [second])
      assert.isNotNull(evaluated.actions)
      const after = service({ directory })
      yield* evaluateWith(after, request(second, true))
      assert.deepStrictEqual(after.counted.evaluated, [])
    }))

  it.live("a changed commit, system, nix/ file or Nix is evaluated afresh", () =>
    Effect.gen(function*() {
      const { first, second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      yield* evaluateWith(service({ directory }), request(second))

      const otherCommit = service({ directory })
      const firstEvaluation = yield* evaluateWith(otherCommit, request(first))
      assert.deepStrictEqual(otherCommit.counted.evaluated, [first])
      assert.notDeepEqual(firstEvaluation, yield* evaluateWith(otherCommit, request(second)))

      const otherSystem = service({ directory })
      const aarch64 = yield* evaluateWith(otherSystem, request(second, false, "aarch64-linux"))
      assert.deepStrictEqual(otherSystem.counted.evaluated, [second])
      assert.strictEqual(aarch64.system, "aarch64-linux")

      const nixDir = mkdtempSync(join(tmpdir(), "ci-nix-"))
      cpSync(join(repoRoot, "nix"), nixDir, { recursive: true })
      writeFileSync(join(nixDir, "ci-actions.nix"), `${readFileSync(join(nixDir, "ci-actions.nix"), "utf8")}\n# changed\n`)
      const otherFiles = service({ directory }, { nixDir })
      yield* evaluateWith(otherFiles, request(second))
      assert.deepStrictEqual(otherFiles.counted.evaluated, [second])

      // Another Nix: another `nix` first on PATH (here one that runs this one).
      const otherBin = mkdtempSync(join(tmpdir(), "ci-other-nix-"))
      const realNix = execFileSync("sh", ["-c", "command -v nix"], { encoding: "utf8" }).trim()
      writeFileSync(join(otherBin, "nix"), `#!/bin/sh\nexec ${realNix} "$@"\n`, { mode: 0o755 })
      const otherNix = service({ directory }, { path: `${otherBin}:${process.env.PATH}` })
      yield* evaluateWith(otherNix, request(second))
      assert.deepStrictEqual(otherNix.counted.evaluated, [second])

      const same = service({ directory })
      yield* evaluateWith(same, request(second))
      yield* evaluateWith(same, request(first))
      assert.deepStrictEqual(same.counted.evaluated, [])
    }))

  it.live("an entry that does not decode is ignored, and rewritten", () =>
    Effect.gen(function*() {
      const { second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      const original = yield* evaluateWith(service({ directory }), request(second))
      const [name] = entries(directory)
      const entry = join(directory, name!)
      for (const corrupt of ["{\"format\":1,\"withActions\":true,\"evaluation\":{\"version\":1", "{\"format\":1,\"withActions\":true,\"evaluation\":{\"version\":2}}", ""]) {
        writeFileSync(entry, corrupt)
        const reading = service({ directory })
        assert.deepStrictEqual(yield* evaluateWith(reading, request(second)), original)
        assert.deepStrictEqual(reading.counted.evaluated, [second])
        assert.deepStrictEqual(JSON.parse(readFileSync(entry, "utf8")).evaluation, original)
      }
      const after = service({ directory })
      yield* evaluateWith(after, request(second))
      assert.deepStrictEqual(after.counted.evaluated, [])
    }))

  it.live("within one process the same request is one evaluation; concurrent writers of one key leave one whole entry", () =>
    Effect.gen(function*() {
      const { first, second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      const one = service({ directory })
      const results = yield* Effect.gen(function*() {
        return yield* (yield* Evaluations).evaluateAll([request(second), request(first), request(second)])
      }).pipe(Effect.provide(one.layer))
      assert.deepStrictEqual([...one.counted.evaluated].sort(), [first, second].sort())
      assert.deepStrictEqual(results.map(Result.isSuccess), [true, true, true])

      // Two processes that both miss: each writes, the last rename wins, no part of either shows.
      const fresh = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      const a = service({ directory: fresh })
      const b = service({ directory: fresh })
      const [fromA, fromB] = yield* Effect.all([evaluateWith(a, request(second)), evaluateWith(b, request(second))], { concurrency: "unbounded" })
      assert.deepStrictEqual(fromA, fromB)
      assert.deepStrictEqual([...a.counted.evaluated, ...b.counted.evaluated], [second, second])
      assert.deepStrictEqual(entries(fresh).filter((name) => !name.endsWith(".json")), [])
      const reader = service({ directory: fresh })
      assert.deepStrictEqual(yield* evaluateWith(reader, request(second)), fromA)
      assert.deepStrictEqual(reader.counted.evaluated, [])
    }))

  it.live("keeps the cache within its size, the least recently used entries going first", () =>
    Effect.gen(function*() {
      const { first, second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      yield* evaluateWith(service({ directory }), request(first))
      const size = statSync(join(directory, entries(directory)[0]!)).size
      // Room for one entry and a half: writing the second evicts the first.
      const bounded = service({ directory, maxBytes: Math.floor(size * 1.5) })
      yield* evaluateWith(bounded, request(second))
      assert.strictEqual(entries(directory).length, 1)
      const reader = service({ directory, maxBytes: Math.floor(size * 1.5) })
      yield* evaluateWith(reader, request(second))
      assert.deepStrictEqual(reader.counted.evaluated, [])
      yield* evaluateWith(reader, request(first))
      assert.deepStrictEqual(reader.counted.evaluated, [first])
    }))

  it.live("with the cache off, nothing is read or written", () =>
    Effect.gen(function*() {
      const { second, request } = history()
      const directory = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      yield* evaluateWith(service({ directory }), request(second))
      const off = service({ directory, enabled: false })
      const before = readFileSync(join(directory, entries(directory)[0]!), "utf8")
      yield* evaluateWith(off, request(second))
      assert.deepStrictEqual(off.counted.evaluated, [second])
      assert.strictEqual(readFileSync(join(directory, entries(directory)[0]!), "utf8"), before)
      const empty = mkdtempSync(join(tmpdir(), "ci-cache-test-"))
      yield* evaluateWith(service({ directory: empty, enabled: false }), request(second))
      assert.deepStrictEqual(entries(empty), [])
    }))
})

describe("tool plan and the cache", () => {
  it("caches base and head in $XDG_CACHE_HOME/ci; --no-cache leaves it alone; a cached plan is the same plan", () => {
    const { dir, first, second } = history()
    const cache = mkdtempSync(join(tmpdir(), "ci-xdg-"))
    const args = ["plan", "--dry-run", "--format", "json", "--system", "x86_64-linux", "--base", first, "--head", second]
    const uncached = runTool([...args, "--no-cache"], { cwd: dir, env: { XDG_CACHE_HOME: cache } })
    assert.strictEqual(uncached.exitCode, 0, uncached.stderr)
    assert.deepStrictEqual(entries(join(cache, "ci", "evaluations")), [])
    const cold = runTool(args, { cwd: dir, env: { XDG_CACHE_HOME: cache } })
    assert.strictEqual(cold.exitCode, 0, cold.stderr)
    assert.strictEqual(entries(join(cache, "ci", "evaluations")).length, 2)
    const warm = runTool(args, { cwd: dir, env: { XDG_CACHE_HOME: cache } })
    assert.strictEqual(warm.exitCode, 0, warm.stderr)
    assert.strictEqual(warm.stdout, uncached.stdout)
    assert.strictEqual(cold.stdout, uncached.stdout)

    const badBound = runTool(args, { cwd: dir, env: { XDG_CACHE_HOME: cache, CI_CACHE_MAX_BYTES: "lots" } })
    assert.strictEqual(badBound.exitCode, 2)
    assert.include(badBound.stderr, "error: CI_CACHE_MAX_BYTES: expected a whole number of bytes")
    assert.strictEqual(badBound.stdout, "")
  })

  it("a deploy build never reads it: a forged entry changes the CI plan, not what the deploy build checks STEP_DATA against", () => {
    const repo = FixtureRepo.create(inject("ciSnapshot"))
    const head = repo.commit("deploy", {
      "flake.nix": fixtureFlake({
        outputs: `packages.x86_64-linux.a = drv "a" [ "1" ];\n      apps.x86_64-linux.deploy = app "deploy";\n      apps.x86_64-linux.pwn = app "pwn";`,
        ciActions: `ci.lib.mkActions { inherit self; actions.ship = { deploySteps = [ { type = "run"; name = "go"; label = "Go"; target = a.deploy; } ]; }; }`
      })
    })
    const cache = mkdtempSync(join(tmpdir(), "ci-xdg-"))
    const env = { BUILDKITE: "true", BUILDKITE_BRANCH: "master", BUILDKITE_COMMIT: head, XDG_CACHE_HOME: cache }
    const stepDataOf = (run: { stdout: string }) => JSON.parse(run.stdout).pipeline.steps.at(-1).build.env.STEP_DATA as string
    const ci = runTool(["plan", "--dry-run", "--format", "json", "--system", "x86_64-linux"], { cwd: repo.dir, env })
    assert.strictEqual(ci.exitCode, 0, ci.stderr)
    const declared = stepDataOf(ci)
    assert.include(declared, ".#apps.x86_64-linux.deploy")

    // What code on the agent could write: the same commit's evaluation, its deploy step retargeted.
    const directory = join(cache, "ci", "evaluations")
    for (const name of entries(directory)) {
      const text = readFileSync(join(directory, name), "utf8")
      writeFileSync(join(directory, name), text.replaceAll(`["apps","x86_64-linux","deploy"]`, `["apps","x86_64-linux","pwn"]`))
    }
    const forgedCi = runTool(["plan", "--dry-run", "--format", "json", "--system", "x86_64-linux"], { cwd: repo.dir, env })
    assert.strictEqual(forgedCi.exitCode, 0, forgedCi.stderr)
    const forged = stepDataOf(forgedCi)
    assert.include(forged, ".#apps.x86_64-linux.pwn")

    const deploy = (stepData: string) =>
      runTool(["plan", "--dry-run", "--system", "x86_64-linux"], { cwd: repo.dir, env: { ...env, DENBEIGH_DEPLOY: "true", STEP_DATA: stepData } })
    const refused = deploy(forged)
    assert.strictEqual(refused.exitCode, 2, refused.stderr)
    assert.include(refused.stderr, `declares ".#apps.x86_64-linux.deploy" for "ship", STEP_DATA has ".#apps.x86_64-linux.pwn"`)
    const accepted = deploy(declared)
    assert.strictEqual(accepted.exitCode, 0, accepted.stderr)
    assert.include(accepted.stdout, "apps.x86_64-linux.deploy")
  })
})
