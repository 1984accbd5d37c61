import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { realpathSync } from "node:fs"
import { inject } from "vitest"
import { Process } from "../../src/effects/Process.ts"
import type { WorkerEvaluation } from "../../src/nix/FlakeEvaluation.ts"
import { Nix } from "../../src/nix/Nix.ts"
import { mergeWorkers, workersFor, workersVariableProblem } from "../../src/nix/workerEvaluations.ts"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"

/**
 * A flake evaluated by several `nix eval`s at once is the evaluation one gives: the same outputs
 * in the same order, the same attribute path for a derivation exposed under several names, the
 * same targets, the same errors, whatever the number of workers (real Nix); and how many there are.
 */

const live = Nix.layer.pipe(Layer.provide(Process.layer), Layer.provide(NodeServices.layer))

const evaluateWith = (dir: string, rev: string, workers: number) =>
  Effect.gen(function*() {
    const nix = yield* Nix
    return yield* nix.evaluate({ repository: dir, flakeDir: ".", rev, shallow: false }, "x86_64-linux", { withActions: true, workers })
  }).pipe(Effect.provide(live))

// Every kind of output, a derivation under three names, an output that throws and one whose
// error tryEval cannot catch (a type error), apps with and without a derivation behind them.
const everyKind = fixtureFlake({
  outputs: `
      packages.x86_64-linux = {
        default = p.tool;
        tool = drv "tool" [ "1" ];
        lib = drv "lib" [ "1" ];
        broken = throw "deliberately broken";
        typed = drv ("typed-" + 42) [ ];
        plain = { not = "a derivation"; };
      };
      checks.x86_64-linux = { tool = p.tool; lint = drv "lint" [ "1" ]; };
      devShells.x86_64-linux.default = drv "shell" [ "1" ];
      formatter.x86_64-linux = drv "fmt" [ "1" ];
      apps.x86_64-linux = {
        deploy = app "deploy";
        tool = { type = "app"; program = "\${p.tool}/bin/tool"; };
      };`,
  ciActions: `ci.lib.mkActions {
        inherit self;
        actions.release = {
          conditions = [ { changed = [ p.lib self.checks.x86_64-linux.tool ]; } ];
          builds = [ p.default self.checks.x86_64-linux.lint self.formatter.x86_64-linux self.devShells.x86_64-linux.default ];
          checks = [ { name = "lint"; target = a.deploy; } ];
          deploySteps = [ { name = "deploy"; target = a.tool; } ];
        };
      }`
})

const repoWith = (flake: string) => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const rev = repo.commit("flake", { "flake.nix": flake })
  return { dir: realpathSync(repo.dir), rev }
}

describe("evaluation workers, against real Nix", () => {
  it.live("give the evaluation one nix eval gives, for 2 to 9 workers (more than the outputs)", () =>
    Effect.gen(function*() {
      const { dir, rev } = repoWith(everyKind)
      const one = yield* evaluateWith(dir, rev, 1)
      // The evaluation is what the rest of the tests expect of one worker.
      const byPath = new Map(one.outputs.map((output) => [output.attrPath.join("."), output]))
      assert.deepStrictEqual(one.outputs.map((output) => output.attrPath.join(".")), [
        "packages.x86_64-linux.broken",
        "packages.x86_64-linux.lib",
        "packages.x86_64-linux.tool",
        "packages.x86_64-linux.typed",
        "packages.x86_64-linux.default",
        "checks.x86_64-linux.lint",
        "checks.x86_64-linux.tool",
        "devShells.x86_64-linux.default",
        "formatter.x86_64-linux",
        "apps.x86_64-linux.deploy",
        "apps.x86_64-linux.tool"
      ])
      assert.isNull(byPath.get("packages.x86_64-linux.broken")!.storePath)
      assert.isNull(byPath.get("packages.x86_64-linux.typed")!.storePath)
      assert.include(byPath.get("packages.x86_64-linux.typed")!.error, "cannot coerce")
      assert.deepStrictEqual(byPath.get("apps.x86_64-linux.tool")!.derivation, ["packages", "x86_64-linux", "tool"])
      assert.isNull(byPath.get("apps.x86_64-linux.deploy")!.derivation)
      const release = one.actions!["release"]!
      assert.deepStrictEqual(release.builds, [
        ["packages", "x86_64-linux", "tool"],
        ["checks", "x86_64-linux", "lint"],
        ["formatter", "x86_64-linux"],
        ["devShells", "x86_64-linux", "default"]
      ])
      assert.deepStrictEqual(release.conditions[0], {
        kind: "changed",
        path: "ciActions.release.conditions[0]",
        targets: [["packages", "x86_64-linux", "lib"], ["packages", "x86_64-linux", "tool"]]
      })
      assert.deepStrictEqual(release.checks[0]!.target, ["apps", "x86_64-linux", "deploy"])

      for (const workers of [2, 3, 4, 9]) {
        assert.deepStrictEqual(yield* evaluateWith(dir, rev, workers), one, `${workers} workers`)
      }
    }), { timeout: 120_000 })

  it.live("say a target that no output is the same way, however many workers", () =>
    Effect.gen(function*() {
      const { dir, rev } = repoWith(fixtureFlake({
        outputs: `packages.x86_64-linux.a = drv "a" [ "1" ];\n      apps.x86_64-linux.go = app "go";`,
        ciActions: `ci.lib.mkActions { inherit self; actions.release = {
          builds = [ p.a (drv "hidden" [ "x" ]) ];
          deploySteps = [ { name = "deploy"; target = app "elsewhere"; } ];
        }; }`
      }))
      const messages = yield* Effect.forEach([1, 2, 3], (workers) =>
        evaluateWith(dir, rev, workers).pipe(
          Effect.result,
          Effect.map((result) => Result.isFailure(result) ? result.failure.message : "evaluated")
        ))
      assert.strictEqual(
        messages[0],
        `ciActions.release.builds[1]: the derivation "hidden" is not an output of this flake for x86_64-linux; expose it, for example as packages.x86_64-linux.hidden, so every agent can build it (searched packages, checks, devShells, formatter and apps for x86_64-linux)`
      )
      assert.deepStrictEqual(messages, [messages[0], messages[0], messages[0]])
    }), { timeout: 60_000 })

  it.live("say an action naming an output whose error tryEval cannot catch as that output's, whichever worker has it", () =>
    Effect.gen(function*() {
      // Outputs before and after it, so that with 2 and 3 workers it is not the last worker's.
      const { dir, rev } = repoWith(fixtureFlake({
        outputs: `packages.x86_64-linux = { a = drv "a" [ "1" ]; b = drv ("b-" + 42) [ ]; c = drv "c" [ "1" ]; d = drv "d" [ "1" ]; };`,
        ciActions: `ci.lib.mkActions { inherit self; actions.release.conditions = [ { changed = [ p.a p.b ]; } ]; }`
      }))
      const messages = yield* Effect.forEach([1, 2, 3], (workers) =>
        evaluateWith(dir, rev, workers).pipe(
          Effect.result,
          Effect.map((result) => Result.isFailure(result) ? result.failure.message : "evaluated")
        ))
      assert.match(messages[0]!, /^ciActions\.release\.conditions\[0\]\.changed.*packages\.x86_64-linux\.b does not evaluate: .*cannot coerce/s)
      assert.deepStrictEqual(messages, [messages[0], messages[0], messages[0]])
    }), { timeout: 60_000 })
})

const worker = (outputs: WorkerEvaluation["outputs"], actions: WorkerEvaluation["actions"] = null): WorkerEvaluation => ({
  version: 1,
  system: "x86_64-linux",
  hasCiActions: actions !== null,
  outputs,
  actions
})

describe("mergeWorkers", () => {
  const a = { attrPath: ["packages", "x86_64-linux", "a"], kind: "packages", storePath: "/nix/store/aaa-a", drvPath: "/nix/store/aaa-a.drv" } as const
  const alsoA = { attrPath: ["checks", "x86_64-linux", "a"], kind: "checks", storePath: "/nix/store/aaa-a", drvPath: "/nix/store/aaa-a.drv" } as const
  const app = { attrPath: ["apps", "x86_64-linux", "run"], kind: "apps", storePath: "/nix/store/aaa-a", program: "/nix/store/aaa-a/bin/run", drvPath: null } as const
  const release = (target: { readonly path: string; readonly storePath: string; readonly name: string | null; readonly pname: string | null }) => ({
    release: { path: "ciActions.release", conditions: [], checks: [], deploySteps: [], builds: [target] }
  })

  it("concatenates the workers' outputs in order; a store path is the first output's that has it", () => {
    const merged = mergeWorkers([worker([a]), worker([alsoA, app], release({ path: "ciActions.release.builds[0]", storePath: "/nix/store/aaa-a", name: "a", pname: null }))], "x86_64-linux")
    assert.strictEqual(merged._tag, "Merged")
    if (merged._tag !== "Merged") return
    assert.deepStrictEqual(merged.evaluation.outputs, [a, alsoA, { ...app, derivation: a.attrPath }])
    assert.deepStrictEqual(merged.evaluation.actions!["release"]!.builds, [a.attrPath])
  })

  it("names the first target that is no output, with the names it has", () => {
    const merged = mergeWorkers([worker([a], release({ path: "ciActions.release.builds[0]", storePath: "/nix/store/bbb-b", name: null, pname: null }))], "aarch64-linux")
    assert.deepStrictEqual(merged, {
      _tag: "Unreachable",
      message:
        `ciActions.release.builds[0]: the derivation "/nix/store/bbb-b" is not an output of this flake for aarch64-linux; expose it, for example as packages.aarch64-linux.<name>, so every agent can build it (searched packages, checks, devShells, formatter and apps for aarch64-linux)`
    })
  })
})

describe("workersFor", () => {
  it("shares the cores between the evaluations that start together, at most 4 each, at least 1", () => {
    assert.strictEqual(workersFor(1, undefined, 2), 2)
    assert.strictEqual(workersFor(2, undefined, 2), 1)
    assert.strictEqual(workersFor(1, undefined, 16), 4)
    assert.strictEqual(workersFor(2, undefined, 6), 3)
    assert.strictEqual(workersFor(3, undefined, 2), 1)
    assert.strictEqual(workersFor(1, undefined, 1), 1)
  })

  it("takes CI_EVAL_WORKERS when it is a number of workers, and says what is wrong with one that is not", () => {
    assert.strictEqual(workersFor(2, "3", 2), 3)
    assert.strictEqual(workersFor(1, "1", 16), 1)
    assert.strictEqual(workersFor(1, "", 2), 2)
    for (const wrong of ["0", "-1", "2.5", "two", "65", " 2", "1e1"]) {
      assert.include(workersVariableProblem(wrong), "expected a whole number of workers from 1 to 64", wrong)
    }
    assert.isUndefined(workersVariableProblem("64"))
    assert.isUndefined(workersVariableProblem(undefined))
  })
})
