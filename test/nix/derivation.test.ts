import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { parseDerivation } from "../../src/nix/derivation.ts"

// Written by Nix 2.8 and byte for byte the same by Nix 2.34 for this flake:
// outputs out and doc, one input derivation, one source, a multi-line attribute with escapes.
const written =
  `Derive([("doc","/nix/store/w6vl7fdy8mni2x742l33kbfvzl1bav5i-bot-doc","",""),("out","/nix/store/x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-bot","","")],` +
  `[("/nix/store/sif7h6ahl0c2wm8778ppyjv0x2cjw0si-lib-1.0.drv",["out"])],["/nix/store/0p2vlay3bjjkazyx8bxhfxrgg060za6c-bot"],` +
  `"x86_64-linux","/bin/sh",["-c","echo /nix/store/aagshyj640az4k0d9xsjg9f9xflknqgv-lib-1.0 > $out"],` +
  `[("builder","/bin/sh"),("doc","/nix/store/w6vl7fdy8mni2x742l33kbfvzl1bav5i-bot-doc"),("name","bot"),` +
  `("out","/nix/store/x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-bot"),("outputs","out doc"),("script","line1\\nline \\"2\\"\\tx\\\\y"),` +
  `("src","/nix/store/0p2vlay3bjjkazyx8bxhfxrgg060za6c-bot"),("system","x86_64-linux")])`

describe("parseDerivation", () => {
  it("reads every field of a derivation Nix wrote", () => {
    const parsed = parseDerivation(written)
    assert.isTrue(Result.isSuccess(parsed))
    const derivation = Result.getOrThrow(parsed)
    assert.deepStrictEqual(derivation.outputs, {
      doc: "/nix/store/w6vl7fdy8mni2x742l33kbfvzl1bav5i-bot-doc",
      out: "/nix/store/x9iapdhqa2c1ykaljsbr0l7wk3wljmlq-bot"
    })
    assert.deepStrictEqual(derivation.inputDrvs, { "/nix/store/sif7h6ahl0c2wm8778ppyjv0x2cjw0si-lib-1.0.drv": ["out"] })
    assert.deepStrictEqual(derivation.inputSrcs, ["/nix/store/0p2vlay3bjjkazyx8bxhfxrgg060za6c-bot"])
    assert.strictEqual(derivation.system, "x86_64-linux")
    assert.strictEqual(derivation.builder, "/bin/sh")
    assert.deepStrictEqual(derivation.args, ["-c", "echo /nix/store/aagshyj640az4k0d9xsjg9f9xflknqgv-lib-1.0 > $out"])
    assert.strictEqual(derivation.env.script, `line1\nline "2"\tx\\y`)
    assert.strictEqual(derivation.env.name, "bot")
    assert.strictEqual(Object.keys(derivation.env).length, 8)
  })

  it("reads empty lists and a fixed-output derivation's hash fields", () => {
    const text = `Derive([("out","/nix/store/0000000000000000000000000000000a-src.tar.gz","sha256","abc")],[],[],"builtin","builtin:fetchurl",[],[("url","https://example.com/\\r")])`
    const derivation = Result.getOrThrow(parseDerivation(text))
    assert.deepStrictEqual(derivation.inputDrvs, {})
    assert.deepStrictEqual(derivation.args, [])
    assert.strictEqual(derivation.env.url, "https://example.com/\r")
  })

  it("reads the dynamic-derivation form, keeping the direct outputs of each input", () => {
    const text = `DrvWithVersion("xp-dyn-drv",[("out","","r:sha256","")],[("/nix/store/0000000000000000000000000000000a-gen.drv",(["out"],[("out",(["a"],[]))]))],[],"x86_64-linux","/bin/sh",[],[("name","x")])`
    const derivation = Result.getOrThrow(parseDerivation(text))
    assert.deepStrictEqual(derivation.inputDrvs, { "/nix/store/0000000000000000000000000000000a-gen.drv": ["out"] })
    assert.deepStrictEqual(derivation.outputs, { out: "" })
  })

  it("says where a malformed file goes wrong", () => {
    assert.deepStrictEqual(parseDerivation(`Derive([("out","/nix/store/x`), Result.fail(`expected the end of a string at offset 16, found "/nix/store/x"`))
    assert.deepStrictEqual(parseDerivation(""), Result.fail(`expected a string, list, tuple or constructor at offset 0, found ""`))
    assert.deepStrictEqual(parseDerivation(`Derive([],[],[],"s","b",[])`), Result.fail("expected Derive(…) with 7 fields, found Derive(…) with 6"))
    assert.deepStrictEqual(parseDerivation(`Derive([],[],[],"s","b",[],[]) trailing`), Result.fail(`expected the end of the file at offset 30, found " trailing"`))
    assert.deepStrictEqual(parseDerivation(`Derive(["x"],[],[],"s","b",[],[])`), Result.fail("outputs: expected a tuple"))
  })
})
