import { execFileSync } from "node:child_process"
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { repoRoot } from "./paths.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** A `path:` flake holding this checkout's flake.nix, flake.lock and nix/: the `ci` input of fixture flakes. */
    ciSnapshot: string
  }
}

/**
 * Once per run: Nix settings for a machine with no daemon and no binary cache, the
 * bundled CLI, and a snapshot of the library that fixture flakes lock as `ci`
 * (the work tree as it is, so tests see uncommitted changes).
 *
 * The bundle goes to build/, which git ignores: the tests run the working tree's
 * src/, and never touch dist/, the committed bundle CI checks against a fresh build.
 */
export default function setup(project: TestProject) {
  process.env.NIX_CONFIG = [
    process.env.NIX_CONFIG,
    "experimental-features = nix-command flakes",
    "build-users-group =",
    "substituters ="
  ].filter((line) => line !== undefined && line !== "").join("\n")

  // The tool's caches (evaluations, compiled code) in a directory of this run, not the user's.
  const cache = mkdtempSync(join(tmpdir(), "ci-cache-"))
  process.env.XDG_CACHE_HOME = cache

  execFileSync(join(repoRoot, "node_modules/.bin/node"), [join(repoRoot, "scripts/build.mjs"), "--outdir", "build"], { stdio: "inherit" })

  const snapshot = mkdtempSync(join(tmpdir(), "ci-lib-"))
  for (const entry of ["flake.nix", "flake.lock", "nix"]) {
    cpSync(join(repoRoot, entry), join(snapshot, entry), { recursive: true })
  }
  project.provide("ciSnapshot", snapshot)
  return () => {
    rmSync(snapshot, { recursive: true, force: true })
    rmSync(cache, { recursive: true, force: true })
  }
}
