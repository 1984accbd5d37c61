import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { nodeBinary, repoRoot, toolBundle } from "../support/paths.ts"

/**
 * The loader (build/tool.mjs) prints every command's --help without loading the bundle
 * (scripts/build.mjs renders the pages at build time): each page must be the bundle's own,
 * byte for byte, on a pipe and on a terminal, and anything else must still reach the bundle.
 */

const entry = join(repoRoot, "build", readdirSync(join(repoRoot, "build")).find((name) => /^cli-\w+\.js$/.test(name))!)
// What a terminal looks like to the CLI's formatter (effect/cli colours when stdout is a TTY).
const asTerminal = ["--import", "data:text/javascript,process.stdout.isTTY=true"]

const print = (script: string, args: ReadonlyArray<string>, options: { readonly terminal?: boolean; readonly env?: Record<string, string> } = {}) => {
  const { NO_COLOR: _, ...env } = process.env
  const result = spawnSync(nodeBinary, [...(options.terminal === true ? asTerminal : []), script, ...args], {
    encoding: "utf8",
    env: { ...env, ...options.env }
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** Every command path, found as a user would: in the SUBCOMMANDS each page lists. */
const commandPaths = (path: ReadonlyArray<string> = []): ReadonlyArray<ReadonlyArray<string>> => {
  const listed = print(entry, [...path, "--help"]).stdout.split("\nSUBCOMMANDS\n")[1]?.split("\n\n")[0] ?? ""
  const names = listed.split("\n").flatMap((line) => /^  (\S+)/.exec(line)?.slice(1) ?? [])
  return [path, ...names.flatMap((name) => commandPaths([...path, name]))]
}

describe("tool --help", () => {
  it("prints each command's page as the bundle does, on a pipe, on a terminal and with NO_COLOR", () => {
    const paths = commandPaths()
    assert.includeMembers(paths.map((path) => path.join(" ")), ["", "plan", "run", "hook install", "bot register-commands"])
    const cases = [
      ...paths.map((path) => [path, "--help", {}] as const),
      // On a terminal, colours (for two pages: they are rendered alike).
      ...[[], ["plan"]].flatMap((path) => [[path, "-h", { terminal: true }], [path, "--help", { terminal: true, env: { NO_COLOR: "1" } }]] as const)
    ]
    for (const [path, flag, options] of cases) {
      const fast = print(toolBundle, [...path, flag], options)
      const full = print(entry, [...path, flag], options)
      assert.strictEqual(full.status, 0, full.stderr)
      assert.deepStrictEqual(fast, full, `tool ${path.join(" ")} ${flag}`)
    }
    assert.include(print(toolBundle, ["--help"], { terminal: true }).stdout, "\u001b[", "a terminal gets colours")
  })

  it("leaves whatever is not a command's --help alone to the bundle", () => {
    for (const args of [["plan", "--dry-run", "--help"], ["nosuch", "--help"], ["plan install", "--help"]]) {
      assert.deepStrictEqual(print(toolBundle, args), print(entry, args), args.join(" "))
    }
  })
})
