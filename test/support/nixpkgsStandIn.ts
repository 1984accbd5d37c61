import { execFileSync } from "node:child_process"
import { cpSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { repoRoot } from "./paths.ts"

const which = (program: string) => execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim()

/**
 * A copy of test/nixpkgs-stand-in, told where this machine's Node, npm, git and
 * Nix are: a `path:` flake to pass as `--override-input nixpkgs`.
 */
export const nixpkgsStandIn = (): string => {
  const dir = join(mkdtempSync(join(tmpdir(), "ci-nixpkgs-stand-in-")), "nixpkgs")
  cpSync(join(repoRoot, "test/nixpkgs-stand-in"), dir, { recursive: true })
  writeFileSync(
    join(dir, "host.json"),
    JSON.stringify({
      bash: which("bash"),
      path: "/usr/bin:/bin",
      node: realpathSync(join(repoRoot, "node_modules/node/bin/node")),
      npm: which("npm"),
      npmCache: execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(),
      git: which("git"),
      nixBin: dirname(realpathSync(which("nix")))
    }, null, 2)
  )
  return dir
}
