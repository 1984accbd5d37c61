import { createHash, createHmac, timingSafeEqual } from "node:crypto"

/**
 * Buildkite webhook authentication. Either `X-Buildkite-Signature:
 * timestamp=T,signature=hex(HMAC-SHA256(token, T + "." + raw body))`, whose
 * timestamp must be recent, or `X-Buildkite-Token: <token>`. Both compared in
 * constant time, over the raw bytes, before any JSON is read.
 */

export type WebhookAuth =
  | {
    readonly _tag: "Verified"
    /** Identifies this delivery: a replay of it carries the same id. */
    readonly deliveryId: string
    /** Whether the delivery can be told from a replay (only a signature can). */
    readonly replayable: boolean
  }
  | { readonly _tag: "Rejected"; readonly reason: string }

export interface WebhookRequest {
  readonly signature: string | undefined
  readonly token: string | undefined
  readonly body: Uint8Array
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest()

/** Equal, in time that does not depend on where they differ. */
const same = (a: string, b: string) => timingSafeEqual(sha256(a), sha256(b))

export const signBody = (secret: string, timestamp: string, body: Uint8Array): string =>
  createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")

export const verifyWebhook = (
  request: WebhookRequest,
  secret: string,
  nowSeconds: number,
  toleranceSeconds: number
): WebhookAuth => {
  if (request.signature !== undefined) {
    const parts = Object.fromEntries(
      request.signature.split(",").map((part) => {
        const at = part.indexOf("=")
        return [part.slice(0, at).trim(), part.slice(at + 1).trim()]
      })
    )
    const timestamp = parts.timestamp
    const signature = parts.signature
    if (timestamp === undefined || signature === undefined || !/^\d+$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(signature)) {
      return { _tag: "Rejected", reason: "malformed X-Buildkite-Signature" }
    }
    if (!same(signBody(secret, timestamp, request.body), signature.toLowerCase())) {
      return { _tag: "Rejected", reason: "X-Buildkite-Signature does not match" }
    }
    if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
      return { _tag: "Rejected", reason: `X-Buildkite-Signature is stale (timestamp ${timestamp})` }
    }
    return { _tag: "Verified", deliveryId: `signature:${signature.toLowerCase()}`, replayable: true }
  }
  if (request.token !== undefined) {
    return same(request.token, secret)
      ? { _tag: "Verified", deliveryId: `body:${sha256(request.body).toString("hex")}`, replayable: false }
      : { _tag: "Rejected", reason: "X-Buildkite-Token does not match" }
  }
  return { _tag: "Rejected", reason: "neither X-Buildkite-Signature nor X-Buildkite-Token" }
}
