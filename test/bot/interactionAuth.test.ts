import { assert, describe, it } from "@effect/vitest"
import { generateKeyPairSync, sign } from "node:crypto"
import { publicKeyFromHex, verifyInteraction } from "../../src/bot/interactionAuth.ts"

/** A key pair made here, as Discord's would be: the public half as the 64 hex digits the Developer Portal shows. */
const { publicKey, privateKey } = generateKeyPairSync("ed25519")
const publicHex = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url").toString("hex")
const body = new TextEncoder().encode(JSON.stringify({ type: 1 }))
const timestamp = "1700000000"
const signature = sign(null, Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString("hex")

describe("verifyInteraction", () => {
  const key = publicKeyFromHex(publicHex)!

  it("accepts Discord's signature over the timestamp and the raw body", () => {
    assert.isTrue(verifyInteraction(key, signature, timestamp, body))
  })

  it("rejects another timestamp, another body, another key", () => {
    assert.isFalse(verifyInteraction(key, signature, "1700000001", body))
    assert.isFalse(verifyInteraction(key, signature, timestamp, new TextEncoder().encode(JSON.stringify({ type: 2 }))))
    const other = generateKeyPairSync("ed25519").privateKey
    assert.isFalse(verifyInteraction(key, sign(null, Buffer.concat([Buffer.from(timestamp), body]), other).toString("hex"), timestamp, body))
  })

  it("rejects missing or malformed headers", () => {
    assert.isFalse(verifyInteraction(key, undefined, timestamp, body))
    assert.isFalse(verifyInteraction(key, signature, undefined, body))
    assert.isFalse(verifyInteraction(key, signature.slice(2), timestamp, body))
    assert.isFalse(verifyInteraction(key, "z".repeat(128), timestamp, body))
  })

  it("reads only a 64-hex-digit public key", () => {
    assert.isDefined(publicKeyFromHex(publicHex.toUpperCase()))
    assert.isUndefined(publicKeyFromHex(publicHex.slice(1)))
    assert.isUndefined(publicKeyFromHex("not a key"))
  })
})
