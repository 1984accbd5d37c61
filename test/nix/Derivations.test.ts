import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DerivationUnreadable, Derivations } from "../../src/nix/Derivations.ts"

/** `.drv` files read from disk, each once while the layer lasts: a store path's contents never change. */

const derivationText = (name: string) =>
  `Derive([("out","/nix/store/x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-${name}","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo > $out"],` +
  `[("builder","/bin/sh"),("name","${name}"),("out","/nix/store/x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-${name}"),("system","x86_64-linux")])`

describe("Derivations", () => {
  it.effect("reads a derivation once: a second read is the first one's, even with the file gone", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "ci-derivations-")), "x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-bot.drv")
      writeFileSync(path, derivationText("bot"))
      const derivations = yield* Derivations
      const first = yield* derivations.read(path)
      assert.strictEqual(first.env.name, "bot")
      rmSync(path)
      assert.strictEqual(yield* derivations.read(path), first)
    }).pipe(Effect.provide(Derivations.layer)))

  it.effect("says which file could not be read, and why: missing, not a derivation's path, not a file, not a derivation", () =>
    Effect.gen(function*() {
      const directory = mkdtempSync(join(tmpdir(), "ci-derivations-"))
      const garbled = join(directory, "garbled.drv")
      writeFileSync(garbled, "Derive([(")
      // A flake's fake derivation can name any path: a FIFO nobody writes to must not hang the plan.
      const fifo = join(directory, "fifo.drv")
      execFileSync("mkfifo", [fifo])
      const paths = [join(directory, "missing.drv"), "relative.drv", join(directory, "x.txt"), fifo, garbled]
      const derivations = yield* Derivations
      const errors = yield* Effect.forEach(paths, (path) => Effect.flip(derivations.read(path)))
      for (const error of errors) assert.instanceOf(error, DerivationUnreadable)
      assert.deepStrictEqual(errors.map((error) => error.drvPath), paths)
      assert.match(errors[0]!.detail, /ENOENT/)
      assert.strictEqual(errors[1]!.detail, "not a store derivation's path")
      assert.strictEqual(errors[2]!.detail, "not a store derivation's path")
      assert.strictEqual(errors[3]!.detail, "not a regular file")
      assert.match(errors[4]!.detail, /^expected /)
      // A failed read is not kept: the file, once there, is read.
      writeFileSync(join(directory, "missing.drv"), derivationText("late"))
      assert.strictEqual((yield* derivations.read(join(directory, "missing.drv"))).env.name, "late")
    }).pipe(Effect.provide(Derivations.layer)))
})
