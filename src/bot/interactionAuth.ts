import { createPublicKey, type KeyObject, verify } from "node:crypto"

/**
 * Discord signs every interaction: Ed25519 over `X-Signature-Timestamp` followed
 * by the raw body, checked with the application's public key (hex, from the
 * Developer Portal).
 */

export const publicKeyFromHex = (hex: string): KeyObject | undefined => {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(hex, "hex").toString("base64url") }, format: "jwk" })
}

export const verifyInteraction = (
  key: KeyObject,
  signature: string | undefined,
  timestamp: string | undefined,
  body: Uint8Array
): boolean => {
  if (signature === undefined || timestamp === undefined || !/^[0-9a-f]{128}$/i.test(signature)) return false
  return verify(null, Buffer.concat([Buffer.from(timestamp), body]), key, Buffer.from(signature, "hex"))
}
