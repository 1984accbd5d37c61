import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { repoRoot } from "./paths.ts"

/** Stage everything and commit, as someone with no git identity configured could. */
export const gitCommitAll = (dir: string, message: string) => {
  execFileSync("git", ["-C", dir, "add", "--all"])
  execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "--quiet", "--message", message])
}

/**
 * This repository as a clone of the working tree would be once dist/ is rebuilt:
 * its files (committed or not, as git sees them) with the bundle globalSetup built
 * from the working tree's src/ as dist/. The package is then the working tree's,
 * whether or not dist/ was rebuilt and committed yet. A `git+file:` flake.
 */
export const workingTreeCheckout = (): string => {
  const dir = join(mkdtempSync(join(tmpdir(), "ci-checkout-")), "ci")
  const listed = execFileSync("git", ["-C", repoRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" })
  for (const file of listed.split("\0")) {
    if (file === "" || file.startsWith("dist/") || !existsSync(join(repoRoot, file))) continue
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    cpSync(join(repoRoot, file), join(dir, file))
  }
  cpSync(join(repoRoot, "build"), join(dir, "dist"), { recursive: true })
  execFileSync("git", ["-C", dir, "init", "--quiet"])
  gitCommitAll(dir, "checkout")
  return dir
}
