import { assert, describe, it } from "@effect/vitest"
import type { Output } from "../../src/nix/FlakeEvaluation.ts"
import { findOutput, nearestOutput } from "../../src/plan/attribute.ts"

const output = (...attrPath: Array<string>): Output => ({
  attrPath,
  kind: attrPath[0] as Output["kind"],
  storePath: null
})
const outputs = [
  output("packages", "x86_64-linux", "bot"),
  output("packages", "x86_64-linux", "bot.v2"),
  output("checks", "x86_64-linux", "bot"),
  output("checks", "x86_64-linux", "lint"),
  output("formatter", "x86_64-linux"),
  output("apps", "x86_64-linux", "deploy")
]
const find = (...wanted: Array<string>) => findOutput(outputs, wanted, "x86_64-linux")?.attrPath.join(" ")

describe("findOutput", () => {
  it("takes a full attribute path, one without the system, or a name", () => {
    assert.strictEqual(find("packages", "x86_64-linux", "bot"), "packages x86_64-linux bot")
    assert.strictEqual(find("checks", "bot"), "checks x86_64-linux bot")
    assert.strictEqual(find("lint"), "checks x86_64-linux lint")
    assert.strictEqual(find("deploy"), "apps x86_64-linux deploy")
    assert.strictEqual(find("formatter"), "formatter x86_64-linux")
    assert.strictEqual(find("bot.v2"), "packages x86_64-linux bot.v2")
  })

  it("prefers packages for a bare name, and finds nothing for another system or name", () => {
    assert.strictEqual(find("bot"), "packages x86_64-linux bot")
    assert.isUndefined(find("packages", "aarch64-linux", "bot"))
    assert.isUndefined(find("x86_64-linux"))
    assert.isUndefined(find("bt"))
    assert.isUndefined(findOutput(outputs, ["bot"], "aarch64-linux"))
  })
})

describe("nearestOutput", () => {
  it("suggests the closest name or attribute path", () => {
    assert.deepStrictEqual(nearestOutput(outputs, "bt")?.attrPath, ["packages", "x86_64-linux", "bot"])
    assert.deepStrictEqual(nearestOutput(outputs, "packages.x86_64-linux.bto")?.attrPath, ["packages", "x86_64-linux", "bot"])
    assert.deepStrictEqual(nearestOutput(outputs, "apps.deplyo")?.attrPath, ["apps", "x86_64-linux", "deploy"])
    assert.deepStrictEqual(nearestOutput(outputs, "lnit")?.attrPath, ["checks", "x86_64-linux", "lint"])
    assert.isUndefined(nearestOutput([], "bot"))
  })
})
