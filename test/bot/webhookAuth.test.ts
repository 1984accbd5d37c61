import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { signBody, verifyWebhook } from "../../src/bot/webhookAuth.ts"
import { repoRoot } from "../support/paths.ts"

/** The reference test vector: a Buildkite token, a timestamp, a body file and the signature they make. */
const vector = JSON.parse(readFileSync(`${repoRoot}test/fixtures/buildkite/signature-test-vector.json`, "utf8"))
const vectorBody = readFileSync(`${repoRoot}test/fixtures/buildkite/${vector.body_file}`)
const bytes = (text: string) => new TextEncoder().encode(text)
const at = Number(vector.timestamp)

describe("verifyWebhook", () => {
  it("accepts the reference vector's signature over the body's exact bytes", () => {
    const auth = verifyWebhook({ signature: vector.x_buildkite_signature, token: undefined, body: vectorBody }, vector.token, at, 300)
    assert.deepStrictEqual(auth, {
      _tag: "Verified",
      deliveryId: `signature:${vector.x_buildkite_signature.split("signature=")[1]}`,
      replayable: true
    })
  })

  it("accepts the reference vector's small case, and signs it the same way", () => {
    const small = vector.small_case
    assert.strictEqual(`timestamp=${small.timestamp},signature=${signBody(small.token, small.timestamp, bytes(small.body))}`, small.x_buildkite_signature)
    assert.strictEqual(verifyWebhook({ signature: small.x_buildkite_signature, token: undefined, body: bytes(small.body) }, small.token, at + 10, 300)._tag, "Verified")
  })

  it("accepts a signature with spaces after the comma and upper-case hex", () => {
    const signature = signBody("secret", "100", bytes("{}")).toUpperCase()
    assert.strictEqual(verifyWebhook({ signature: `timestamp=100, signature=${signature}`, token: undefined, body: bytes("{}") }, "secret", 100, 300)._tag, "Verified")
  })

  const rejected = (signature: string | undefined, token: string | undefined, body: Uint8Array, now = at) => {
    const auth = verifyWebhook({ signature, token, body }, vector.token, now, 300)
    return auth._tag === "Rejected" ? auth.reason : "verified"
  }

  it("rejects a body changed by one byte", () => {
    const changed = Buffer.from(vectorBody)
    changed[changed.length - 2]! ^= 1
    assert.strictEqual(rejected(vector.x_buildkite_signature, undefined, changed), "X-Buildkite-Signature does not match")
  })

  it("rejects a signature made with another token", () => {
    const forged = `timestamp=${vector.timestamp},signature=${signBody("not-the-token", vector.timestamp, vectorBody)}`
    assert.strictEqual(rejected(forged, undefined, vectorBody), "X-Buildkite-Signature does not match")
  })

  it("rejects a timestamp moved to make an old signature look new", () => {
    const moved = vector.x_buildkite_signature.replace(`timestamp=${vector.timestamp}`, `timestamp=${at + 1000}`)
    assert.strictEqual(rejected(moved, undefined, vectorBody, at + 1000), "X-Buildkite-Signature does not match")
  })

  it("rejects a genuine signature older, or newer, than the tolerance", () => {
    assert.strictEqual(rejected(vector.x_buildkite_signature, undefined, vectorBody, at + 300), "verified")
    assert.strictEqual(rejected(vector.x_buildkite_signature, undefined, vectorBody, at + 301), `X-Buildkite-Signature is stale (timestamp ${vector.timestamp})`)
    assert.strictEqual(rejected(vector.x_buildkite_signature, undefined, vectorBody, at - 301), `X-Buildkite-Signature is stale (timestamp ${vector.timestamp})`)
  })

  it("rejects malformed signature headers", () => {
    for (const header of ["", "signature=abc", `timestamp=${vector.timestamp}`, `timestamp=soon,signature=${"a".repeat(64)}`, `timestamp=1,signature=${"g".repeat(64)}`, "garbage"]) {
      assert.strictEqual(rejected(header, undefined, vectorBody), "malformed X-Buildkite-Signature", header)
    }
  })

  it("prefers the signature to the token: a valid token does not excuse a bad signature", () => {
    assert.strictEqual(rejected("timestamp=1,signature=" + "0".repeat(64), vector.token, vectorBody), "X-Buildkite-Signature does not match")
  })

  it("accepts the token, naming the delivery by its body, not replayable", () => {
    const auth = verifyWebhook({ signature: undefined, token: vector.token, body: vectorBody }, vector.token, at, 300)
    assert.deepStrictEqual(auth, { _tag: "Verified", deliveryId: `body:${vector.body_sha256}`, replayable: false })
  })

  it("rejects a wrong token, a prefix of it, and a request with neither header", () => {
    assert.strictEqual(rejected(undefined, "wrong", vectorBody), "X-Buildkite-Token does not match")
    assert.strictEqual(rejected(undefined, vector.token.slice(0, -1), vectorBody), "X-Buildkite-Token does not match")
    assert.strictEqual(rejected(undefined, "", vectorBody), "X-Buildkite-Token does not match")
    assert.strictEqual(rejected(undefined, undefined, vectorBody), "neither X-Buildkite-Signature nor X-Buildkite-Token")
  })
})
