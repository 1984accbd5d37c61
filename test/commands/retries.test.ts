import { assert, describe, it } from "@effect/vitest"
import { type AttemptOutcome, shouldRetry, transientRetries } from "../../src/commands/retries.ts"

const transient: AttemptOutcome = { passed: false, phase: "prepare", kind: "transient" }
const permanent: AttemptOutcome = { passed: false, phase: "prepare", kind: "permanent" }
const programFailed: AttemptOutcome = { passed: false, phase: "program", kind: "permanent" }
const passed: AttemptOutcome = { passed: true, phase: "program", kind: "permanent" }

describe("shouldRetry", () => {
  it("never retries a pass or a permanent failure", () => {
    assert.isFalse(shouldRetry([passed], 5))
    assert.isFalse(shouldRetry([permanent], 5))
  })

  it("retries a failed program only as often as the step declares", () => {
    assert.isFalse(shouldRetry([programFailed], 0))
    assert.isTrue(shouldRetry([programFailed], 2))
    assert.isTrue(shouldRetry([programFailed, programFailed], 2))
    assert.isFalse(shouldRetry([programFailed, programFailed, programFailed], 2))
  })

  it("retries a transient failure before the program ran, even when the step declares no retries", () => {
    const attempts = Array.from({ length: transientRetries }, () => transient)
    assert.isTrue(shouldRetry(attempts, 0))
    assert.isFalse(shouldRetry([...attempts, transient], 0))
  })

  it("does not count transient failures against the declared retries", () => {
    assert.isTrue(shouldRetry([transient, transient, programFailed], 1))
  })
})
