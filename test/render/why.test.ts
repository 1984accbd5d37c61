import { assert, describe, it } from "@effect/vitest"
import { describeDifference, flakeInputsLine, whyLine, whyTree } from "../../src/render/why.ts"
import { difference as entry } from "../support/difference.ts"

const version = entry({ kind: "env", name: "version", base: "1.0.0", head: "1.0.1" })
const src = entry({ kind: "source", name: "bot", base: "/nix/store/a-bot", head: "/nix/store/b-bot", attributes: ["src"] })
const lib = entry({
  kind: "input",
  name: "lib",
  base: "lib-1.0",
  head: "lib-1.0",
  why: [entry({ kind: "args", name: "1", base: "echo 1 > $out", head: "echo 2 > $out" })]
})

describe("describeDifference", () => {
  it("says each kind of difference in a few words", () => {
    const lines = [
      version,
      entry({ kind: "env", name: "buildPhase", base: "make", head: "make -j4", line: 3 }),
      entry({ kind: "env", name: "patches", base: null, head: "a.patch" }),
      entry({ kind: "env", name: "doCheck", base: "1", head: null }),
      entry({ kind: "system", base: "x86_64-linux", head: "aarch64-linux" }),
      entry({ kind: "builder", base: "/bin/sh", head: "/bin/bash" }),
      entry({ kind: "output", name: "doc", base: null, head: "doc" }),
      entry({ kind: "output", name: "dev", base: "dev", head: null }),
      src,
      entry({ kind: "source", name: "setup.sh", base: null, head: "/nix/store/c-setup.sh" }),
      entry({ kind: "source", name: "source", base: "/nix/store/d-source", head: "/nix/store/e-source", attributes: ["data"], flakeInput: "dep" }),
      entry({ kind: "input", name: "openssl", base: "openssl-3.0.1", head: "openssl-3.0.2" }),
      entry({ kind: "input", name: "libfoo", base: "libfoo", head: "libbar-2" }),
      entry({ kind: "input", name: "new", base: null, head: "new-2" }),
      entry({ kind: "input", name: "old", base: "old-1", head: null }),
      entry({ kind: "input", name: "bash", base: "bash-5.2^out", head: "bash-5.2^out,man" }),
      entry({ kind: "input", name: "mid", base: "mid", head: "mid", unexplored: "depth" }),
      entry({ kind: "input", name: "mid", base: "mid", head: "mid", unexplored: "repeated", flakeInput: "nixpkgs" })
    ].map(describeDifference)
    assert.deepStrictEqual(lines, [
      `version: "1.0.0" → "1.0.1"`,
      `buildPhase, line 3: "make" → "make -j4"`,
      `patches: added "a.patch"`,
      `doCheck: removed (was "1")`,
      `system: "x86_64-linux" → "aarch64-linux"`,
      `builder: "/bin/sh" → "/bin/bash"`,
      "output doc added",
      "output dev removed",
      "src: ./bot changed",
      "source ./setup.sh added",
      "data: ./source changed (flake input dep updated)",
      "openssl-3.0.1 → 3.0.2",
      "libfoo → libbar-2",
      "input new-2 added",
      "input old-1 removed",
      "bash-5.2: uses outputs out → out,man",
      "mid changed (not looked into: deeper than --depth)",
      "mid changed (flake input nixpkgs updated; as above)"
    ])
  })
})

describe("describeDifference with hostile text", () => {
  it("escapes what a terminal would act on or a reader would not see", () => {
    const hostile = entry({ kind: "env", name: "a\u001b[2Jb", base: "x\u2028y", head: "\u202eevil" })
    assert.strictEqual(describeDifference(hostile), `a\\u{1b}[2Jb: "x\\u{2028}y" → "\\u{202e}evil"`)
    const input = entry({ kind: "source", name: "source", base: "/a", head: "/b", flakeInput: "dep\u200b" })
    assert.strictEqual(describeDifference(input), "source ./source changed (flake input dep\\u{200b} updated)")
  })
})

describe("whyTree", () => {
  it("draws the differences under the inputs they are in", () => {
    assert.deepStrictEqual(whyTree([version, src, lib]), [
      `├─ version: "1.0.0" → "1.0.1"`,
      "├─ src: ./bot changed",
      "└─ lib-1.0 changed",
      `   └─ args[1]: "echo 1 > $out" → "echo 2 > $out"`
    ])
  })

  it("shows a few entries per derivation and counts the rest", () => {
    const many = Array.from({ length: 5 }, (_, i) => entry({ kind: "env", name: `v${i}`, base: "1", head: "2" }))
    assert.deepStrictEqual(whyTree([entry({ ...lib, why: many })], 2), [
      "└─ lib-1.0 changed",
      `   ├─ v0: "1" → "2"`,
      `   ├─ v1: "1" → "2"`,
      "   └─ … and 3 more"
    ])
  })
})

describe("whyLine", () => {
  it("lists the first leaves with the inputs they lie under", () => {
    assert.strictEqual(whyLine([version, src, lib]), `version: "1.0.0" → "1.0.1"; src: ./bot changed; lib-1.0 › args[1]: "echo 1 > $out" → "echo 2 > $out"`)
    assert.strictEqual(whyLine([version, src, lib], 1), `version: "1.0.0" → "1.0.1"; and 2 more`)
    assert.strictEqual(whyLine([]), "")
  })
})

describe("flakeInputsLine", () => {
  it("names each input with its revisions when it has them", () => {
    const store = (c: string) => `/nix/store/${c.repeat(32)}-source`
    assert.strictEqual(
      flakeInputsLine([
        { name: "dep", base: { rev: "96e3b93f31".padEnd(40, "0"), storePath: store("a") }, head: { rev: "8764566560".padEnd(40, "0"), storePath: store("b") } },
        { name: "local", base: { rev: null, storePath: store("c") }, head: { rev: null, storePath: store("d") } },
        { name: "fresh", base: null, head: { rev: null, storePath: store("e") } },
        { name: "gone", base: { rev: null, storePath: store("f") }, head: null }
      ]),
      "dep 96e3b93 → 8764566, local updated, fresh added, gone removed"
    )
  })
})
