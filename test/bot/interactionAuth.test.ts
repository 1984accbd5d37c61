import { assert, describe, it } from "@effect/vitest"
import { generateKeyPairSync, sign } from "node:crypto"
import { interactionTolerance, publicKeyFromHex, verifyInteraction } from "../../src/bot/interactionAuth.ts"

/** A key pair made here, as Discord's would be: the public half as the 64 hex digits the Developer Portal shows. */
const { publicKey, privateKey } = generateKeyPairSync("ed25519")
const publicHex = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url").toString("hex")
const body = new TextEncoder().encode(JSON.stringify({ type: 1 }))
const now = 1_700_000_000
const timestamp = String(now)
const signed = (at: string, key = privateKey) => sign(null, Buffer.concat([Buffer.from(at), body]), key).toString("hex")
const signature = signed(timestamp)
const verified = { _tag: "Verified" } as const
const badSignature = { _tag: "Rejected", reason: "invalid request signature" } as const

describe("verifyInteraction", () => {
  const key = publicKeyFromHex(publicHex)!

  it("accepts Discord's signature over the timestamp and the raw body", () => {
    assert.deepStrictEqual(verifyInteraction(key, signature, timestamp, body, now), verified)
  })

  it("rejects another timestamp, another body, another key", () => {
    assert.deepStrictEqual(verifyInteraction(key, signature, "1700000001", body, now), badSignature)
    assert.deepStrictEqual(verifyInteraction(key, signature, timestamp, new TextEncoder().encode(JSON.stringify({ type: 2 })), now), badSignature)
    assert.deepStrictEqual(verifyInteraction(key, signed(timestamp, generateKeyPairSync("ed25519").privateKey), timestamp, body, now), badSignature)
  })

  it("rejects a signature more than five minutes old or ahead, however genuine", () => {
    for (const at of [now - interactionTolerance, now + interactionTolerance]) {
      assert.deepStrictEqual(verifyInteraction(key, signed(String(at)), String(at), body, now), verified, `${at - now} s`)
    }
    for (const at of [now - interactionTolerance - 1, now + interactionTolerance + 1, now - 365 * 86_400, now + 365 * 86_400]) {
      const answer = verifyInteraction(key, signed(String(at)), String(at), body, now)
      assert.deepStrictEqual(answer, { _tag: "Rejected", reason: `X-Signature-Timestamp is stale (timestamp "${at}")` } as const, `${at - now} s`)
    }
    assert.strictEqual(verifyInteraction(key, signed("soon"), "soon", body, now)._tag, "Rejected", "a timestamp that is no time")
  })

  it("rejects missing or malformed headers", () => {
    assert.deepStrictEqual(verifyInteraction(key, undefined, timestamp, body, now), badSignature)
    assert.deepStrictEqual(verifyInteraction(key, signature, undefined, body, now), badSignature)
    assert.deepStrictEqual(verifyInteraction(key, signature.slice(2), timestamp, body, now), badSignature)
    assert.deepStrictEqual(verifyInteraction(key, "z".repeat(128), timestamp, body, now), badSignature)
  })

  it("reads only a 64-hex-digit public key", () => {
    assert.isDefined(publicKeyFromHex(publicHex.toUpperCase()))
    assert.isUndefined(publicKeyFromHex(publicHex.slice(1)))
    assert.isUndefined(publicKeyFromHex("not a key"))
  })
})
