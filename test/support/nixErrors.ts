import { spawnSync } from "node:child_process"
import { stripVTControlCharacters } from "node:util"

/**
 * What this machine's Nix says when it builds these derivations: each error it
 * reports, whole, without colour or the `error: ` prefix. Tests compare the tool's
 * messages with these, never with one Nix version's wording.
 */
export const nixErrors = (drvPaths: ReadonlyArray<string>): ReadonlyArray<string> => {
  // The log format `tool build` reads, where a builder's log is not part of the message.
  const result = spawnSync("nix-store", ["--realise", "--log-format", "internal-json", ...drvPaths], { encoding: "utf8" })
  return result.stderr.split("\n").flatMap((line) => {
    if (!line.startsWith("@nix ")) return []
    const event = JSON.parse(line.slice(5))
    return event.action === "msg" && event.level === 0 ? [stripVTControlCharacters(event.msg).replace(/^error:\s*/, "")] : []
  })
}
