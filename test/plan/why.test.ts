import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Derivation } from "../../src/nix/derivation.ts"
import type { FlakeInputChange } from "../../src/nix/flakeLock.ts"
import { compareDerivations, type Difference, explainChanges, packageName, type WhyOptions } from "../../src/plan/why.ts"

const storeDir = "/nix/store"
// A store path whose hash is made of one repeated character.
const at = (hash: string, name: string) => `${storeDir}/${hash.repeat(32)}-${name}`

const derivation = (overrides: Partial<Derivation> = {}): Derivation => ({
  outputs: { out: at("0", "x") },
  inputDrvs: {},
  inputSrcs: [],
  system: "x86_64-linux",
  builder: "/bin/sh",
  args: ["-c", "true"],
  env: {},
  ...overrides
})

const compare = (base: Derivation, head: Derivation, flakeInputs: ReadonlyArray<FlakeInputChange> = []) =>
  compareDerivations(base, head, storeDir, flakeInputs)

// The fields that matter for a difference, for short assertions.
const brief = (difference: Difference) => [difference.kind, difference.name, difference.base, difference.head] as const

describe("compareDerivations", () => {
  it("names a changed attribute, and not the output paths and name that follow from it", () => {
    const base = derivation({ outputs: { out: at("1", "bot-1.0.0") }, env: { name: "bot-1.0.0", version: "1.0.0", out: at("1", "bot-1.0.0") } })
    const head = derivation({ outputs: { out: at("2", "bot-1.0.1") }, env: { name: "bot-1.0.1", version: "1.0.1", out: at("2", "bot-1.0.1") } })
    const { differences, pairs } = compare(base, head)
    assert.deepStrictEqual(differences.map(brief), [["env", "version", "1.0.0", "1.0.1"]])
    assert.deepStrictEqual(pairs, [])
  })

  it("still names the name when it changed for another reason", () => {
    const base = derivation({ env: { name: "bot-1.0", version: "1.0" } })
    const head = derivation({ env: { name: "robot-1.1", version: "1.1" } })
    assert.deepStrictEqual(compare(base, head).differences.map(brief), [
      ["env", "name", "bot-1.0", "robot-1.1"],
      ["env", "version", "1.0", "1.1"]
    ])
  })

  it("ignores store paths that differ only by hash, which the inputs explain", () => {
    const base = derivation({ args: ["-c", `echo ${at("1", "lib-1.0")}/bin/x > $out`], env: { LIB: at("1", "lib-1.0") } })
    const head = derivation({ args: ["-c", `echo ${at("2", "lib-1.0")}/bin/x > $out`], env: { LIB: at("2", "lib-1.0") } })
    assert.deepStrictEqual(compare(base, head).differences, [])
  })

  it("shows the first argument that differs, with store hashes elided", () => {
    const base = derivation({ args: ["-c", `echo ${at("1", "lib")} 1 > $out`] })
    const head = derivation({ args: ["-c", `echo ${at("2", "lib")} 2 > $out`, "extra"] })
    assert.deepStrictEqual(compare(base, head).differences.map(brief), [
      ["args", "1", "echo /nix/store/…-lib 1 > $out", "echo /nix/store/…-lib 2 > $out"]
    ])
    const added = compare(derivation({ args: ["-c"] }), derivation({ args: ["-c", "x"] })).differences
    assert.deepStrictEqual(added.map(brief), [["args", "1", null, "x"]])
  })

  it("shows the first line that differs of a multi-line value, never the whole script", () => {
    const script = (changed: string) => ["set -e", "cd src", changed, "make install", ...Array(200).fill("echo filler")].join("\n")
    const { differences } = compare(derivation({ env: { buildPhase: script("make") } }), derivation({ env: { buildPhase: script("make -j4") } }))
    assert.deepStrictEqual(differences.map((difference) => [difference.name, difference.line, difference.base, difference.head]), [
      ["buildPhase", 3, "make", "make -j4"]
    ])
  })

  it("shows the first line of a multi-line value added or removed", () => {
    const { differences } = compare(derivation({ env: { old: "a\nb" } }), derivation({ env: { installPhase: "mkdir $out\ncp x $out" } }))
    assert.deepStrictEqual(differences.map(brief), [["env", "installPhase", null, "mkdir $out…"], ["env", "old", "a…", null]])
  })

  it("shows a window around the difference in a long line", () => {
    const long = (word: string) => `${"a".repeat(300)} ${word} ${"b".repeat(300)}`
    const [difference] = compare(derivation({ env: { flags: long("-O2") } }), derivation({ env: { flags: long("-O3") } })).differences
    assert.strictEqual(difference!.base, `…${"a".repeat(17)} -O2 ${"b".repeat(58)}…`)
    assert.strictEqual(difference!.head, `…${"a".repeat(17)} -O3 ${"b".repeat(58)}…`)
    assert.isAtMost(difference!.head!.length, 82)
  })

  it("names an attribute added or removed", () => {
    const { differences } = compare(derivation({ env: { a: "1" } }), derivation({ env: { b: "2" } }))
    assert.deepStrictEqual(differences.map(brief), [["env", "a", "1", null], ["env", "b", null, "2"]])
  })

  it("reads structured attributes one by one", () => {
    const json = (version: string) => JSON.stringify({ name: "x", version, buildInputs: [], nested: { a: 1 } })
    const { differences } = compare(
      derivation({ env: { __json: json("1"), out: at("1", "x") } }),
      derivation({ env: { __json: json("2").replace(`"a":1`, `"a":2`), out: at("2", "x") } })
    )
    assert.deepStrictEqual(differences.map(brief), [["env", "nested", `{"a":1}`, `{"a":2}`], ["env", "version", "1", "2"]])
  })

  it("names the builder, the system and outputs added or removed", () => {
    const base = derivation({ outputs: { out: at("1", "x"), doc: at("1", "x-doc") }, env: { outputs: "out doc" } })
    const head = derivation({
      system: "aarch64-linux",
      builder: "/bin/bash",
      outputs: { out: at("2", "x"), dev: at("2", "x-dev") },
      env: { outputs: "out dev" }
    })
    assert.deepStrictEqual(compare(base, head).differences.map(brief), [
      ["system", null, "x86_64-linux", "aarch64-linux"],
      ["builder", null, "/bin/sh", "/bin/bash"],
      ["output", "doc", "doc", null],
      ["output", "dev", null, "dev"]
    ])
  })

  it("names a changed source by its name and the attributes that hold it", () => {
    const base = derivation({ inputSrcs: [at("1", "bot"), at("3", "setup.sh")], env: { src: at("1", "bot") } })
    const head = derivation({ inputSrcs: [at("2", "bot"), at("3", "setup.sh"), at("4", "patch.diff")], env: { src: at("2", "bot") } })
    const { differences } = compare(base, head)
    assert.deepStrictEqual(differences.map(brief), [
      ["source", "bot", at("1", "bot"), at("2", "bot")],
      ["source", "patch.diff", null, at("4", "patch.diff")]
    ])
    assert.deepStrictEqual(differences[0]!.attributes, ["src"])
    assert.deepStrictEqual(differences[1]!.attributes, [])
  })

  it("says which flake input a source is, by its store path", () => {
    const dep: FlakeInputChange = { name: "dep", base: { rev: "a".repeat(40), storePath: at("5", "source") }, head: { rev: "b".repeat(40), storePath: at("6", "source") } }
    const base = derivation({ inputSrcs: [at("5", "source")], env: { data: at("5", "source") } })
    const head = derivation({ inputSrcs: [at("6", "source")], env: { data: at("6", "source") } })
    const [difference] = compare(base, head, [dep]).differences
    assert.strictEqual(difference!.flakeInput, "dep")
    assert.deepStrictEqual(difference!.attributes, ["data"])
    assert.isNull(compare(base, head).differences[0]!.flakeInput)
  })

  it("pairs input derivations by name to look into, and by package name for a new version", () => {
    const base = derivation({
      inputDrvs: {
        [at("1", "lib-1.0.drv")]: ["out"],
        [at("1", "openssl-3.0.1.drv")]: ["out", "dev"],
        [at("1", "zlib-1.3.drv")]: ["out"],
        [at("1", "old.drv")]: ["out"],
        [at("1", "bash-5.2.drv")]: ["out"]
      }
    })
    const head = derivation({
      inputDrvs: {
        [at("2", "lib-1.0.drv")]: ["out"],
        [at("2", "openssl-3.0.2.drv")]: ["out", "dev"],
        [at("1", "zlib-1.3.drv")]: ["out"],
        [at("2", "new-2.drv")]: ["out"],
        [at("1", "bash-5.2.drv")]: ["out", "man"]
      }
    })
    const { differences, pairs } = compare(base, head)
    assert.deepStrictEqual(differences.map(brief), [
      ["input", "bash", "bash-5.2^out", "bash-5.2^out,man"],
      ["input", "new", null, "new-2"],
      ["input", "old", "old", null],
      ["input", "openssl", "openssl-3.0.1", "openssl-3.0.2"]
    ])
    assert.deepStrictEqual(pairs, [{ name: "lib-1.0", base: at("1", "lib-1.0.drv"), head: at("2", "lib-1.0.drv") }])
  })
})

describe("packageName", () => {
  it("splits as builtins.parseDrvName does", () => {
    assert.deepStrictEqual(packageName("openssl-3.0.1"), { name: "openssl", version: "3.0.1" })
    assert.deepStrictEqual(packageName("python3.11-foo-bar-1.0"), { name: "python3.11-foo-bar", version: "1.0" })
    assert.deepStrictEqual(packageName("hello"), { name: "hello", version: "" })
    assert.deepStrictEqual(packageName("font-2x"), { name: "font", version: "2x" })
  })
})

describe("explainChanges", () => {
  // A chain top → a → b → c → d, where only d's version differs; `spare` changes at top.
  const chain = (side: "1" | "2"): Record<string, Derivation> => {
    const drvs: Record<string, Derivation> = {}
    let below: string | undefined
    for (const name of ["d", "c", "b", "a", "top"]) {
      const drvPath = at(side, `${name}.drv`)
      drvs[drvPath] = derivation({
        inputDrvs: below === undefined ? {} : { [below]: ["out"] },
        env: name === "d" ? { version: side } : {}
      })
      below = drvPath
    }
    return drvs
  }
  const store: Record<string, Derivation> = { ...chain("1"), ...chain("2") }
  const read = (drvPath: string) => {
    const found = store[drvPath]
    return found === undefined ? Effect.fail(`no ${drvPath}`) : Effect.succeed(found)
  }
  const options = (overrides: Partial<WhyOptions> = {}): WhyOptions => ({ depth: 10, limit: 50, flakeInputs: [], ...overrides })
  const explain = (overrides: Partial<WhyOptions>, base = at("1", "top.drv"), head = at("2", "top.drv")) =>
    explainChanges(read, [{ attrPath: "packages.x86_64-linux.top", base, head }], options(overrides), (error) => error).pipe(
      Effect.map((outputs) => outputs[0]!)
    )
  // The path down the first child of each level.
  const spine = (differences: ReadonlyArray<Difference>): Array<string> => {
    const first = differences[0]
    if (first === undefined) return []
    return [`${first.kind} ${first.name}${first.unexplored === null ? "" : ` (${first.unexplored})`}`, ...spine(first.why)]
  }

  it.effect("follows changed inputs down to the first difference", () =>
    Effect.gen(function*() {
      const result = yield* explain({})
      assert.deepStrictEqual(spine(result.why), ["input a", "input b", "input c", "input d", "env version"])
      assert.deepStrictEqual(brief(result.why[0]!.why[0]!.why[0]!.why[0]!.why[0]!), ["env", "version", "1", "2"])
      assert.isNull(result.error)
    }))

  it.effect("stops at the depth", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(spine((yield* explain({ depth: 0 })).why), ["input a (depth)"])
      assert.deepStrictEqual(spine((yield* explain({ depth: 2 })).why), ["input a", "input b", "input c (depth)"])
    }))

  it.effect("stops at the count of derivations compared", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(spine((yield* explain({ limit: 1 })).why), ["input a (limit)"])
      assert.deepStrictEqual(spine((yield* explain({ limit: 3 })).why), ["input a", "input b", "input c (limit)"])
    }))

  it.effect("looks into a pair of derivations once, however often it is reached", () =>
    Effect.gen(function*() {
      // top uses a directly and through `via`: the second time a is reached it is not compared again.
      const via = (side: "1" | "2") => ({ [at(side, "via.drv")]: derivation({ inputDrvs: { [at(side, "a.drv")]: ["out"] } }) })
      Object.assign(store, via("1"), via("2"))
      const top = (side: "1" | "2") => derivation({ inputDrvs: { [at(side, "a.drv")]: ["out"], [at(side, "via.drv")]: ["out"] } })
      Object.assign(store, { [at("1", "top2.drv")]: top("1"), [at("2", "top2.drv")]: top("2") })
      const result = yield* explain({}, at("1", "top2.drv"), at("2", "top2.drv"))
      assert.deepStrictEqual(result.why.map((entry) => [entry.name, entry.unexplored]), [["a", null], ["via", null]])
      assert.deepStrictEqual(result.why[1]!.why.map((entry) => [entry.name, entry.unexplored]), [["a", "repeated"]])
    }))

  it.effect("says what it cannot read, and carries on", () =>
    Effect.gen(function*() {
      store[at("1", "broken.drv")] = derivation({ inputDrvs: { [at("1", "gone.drv")]: ["out"] }, env: { v: "1" } })
      store[at("2", "broken.drv")] = derivation({ inputDrvs: { [at("2", "gone.drv")]: ["out"] }, env: { v: "2" } })
      const partly = yield* explain({}, at("1", "broken.drv"), at("2", "broken.drv"))
      assert.deepStrictEqual(partly.why.map((entry) => [entry.name, entry.unexplored]), [["v", null], ["gone", "unreadable"]])

      const missing = yield* explain({}, at("1", "nothing.drv"), at("2", "top.drv"))
      assert.deepStrictEqual(missing.why, [])
      assert.strictEqual(missing.error, `no ${at("1", "nothing.drv")}`)
    }))

  it.effect("has nothing to compare for an output new at head, broken at head, or the same", () =>
    Effect.gen(function*() {
      const explainAll = explainChanges(read, [
        { attrPath: "new", base: null, head: at("2", "top.drv") },
        { attrPath: "broken", base: at("1", "top.drv"), head: null },
        { attrPath: "same", base: at("1", "top.drv"), head: at("1", "top.drv") }
      ], options(), (error) => error)
      const [added, broken, same] = yield* explainAll
      assert.strictEqual(added!.error, "it is new: there is nothing at base to compare with")
      assert.strictEqual(broken!.error, "it did not evaluate at head")
      assert.deepStrictEqual([same!.why, same!.error], [[], null])
    }))
})
