import { createPublicKey, type KeyObject, verify } from "node:crypto"

/**
 * Discord signs every interaction: Ed25519 over `X-Signature-Timestamp` followed
 * by the raw body, checked with the application's public key (hex, from the
 * Developer Portal). A signature stays valid forever, so the timestamp must also
 * be recent: within `interactionTolerance` of now, either way. (A recent request
 * replayed is caught by its id: see `Store.acceptInteraction`.)
 */

/** How far an interaction's timestamp may be from now, in seconds. */
export const interactionTolerance = 300

export type InteractionAuth = { readonly _tag: "Verified" } | { readonly _tag: "Rejected"; readonly reason: string }

export const publicKeyFromHex = (hex: string): KeyObject | undefined => {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(hex, "hex").toString("base64url") }, format: "jwk" })
}

export const verifyInteraction = (
  key: KeyObject,
  signature: string | undefined,
  timestamp: string | undefined,
  body: Uint8Array,
  nowSeconds: number
): InteractionAuth => {
  if (signature === undefined || timestamp === undefined || !/^[0-9a-f]{128}$/i.test(signature)) {
    return { _tag: "Rejected", reason: "invalid request signature" }
  }
  if (!verify(null, Buffer.concat([Buffer.from(timestamp), body]), key, Buffer.from(signature, "hex"))) {
    return { _tag: "Rejected", reason: "invalid request signature" }
  }
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > interactionTolerance) {
    return { _tag: "Rejected", reason: `X-Signature-Timestamp is stale (timestamp ${JSON.stringify(timestamp)})` }
  }
  return { _tag: "Verified" }
}
