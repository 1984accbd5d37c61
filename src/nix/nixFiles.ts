import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { nixDirCandidates, type NixSources, nixSourceFiles } from "./evaluationCommand.ts"

/**
 * The tool's `nix/` files, found and read at once: by the head start, before effect has loaded
 * (src/commands/plan/prestart.ts), and by the `Nix` service as it is built. They are a few tens
 * of kilobytes, needed before anything can be evaluated; read through effect's FileSystem, each
 * was four trips through libuv's thread pool while a plan's evaluations were starting.
 */

/**
 * `nix/` beside the tool: from a checkout (`src/nix/`), a bundle (`dist/`, `dist/chunks/`) or an
 * installed package, for a module at `moduleDir`, or wherever `configured` (`CI_NIX_DIR`) says.
 * Undefined when none holds `ci-actions.nix`.
 */
export const findNixDir = (moduleDir: string, configured: string | undefined): string | undefined =>
  configured ?? nixDirCandidates(moduleDir).find((candidate) => existsSync(join(candidate, nixSourceFiles.ciActions)))

/** A file of `nix/` (`lib.nix`, `ci-actions.nix`, `targets.nix`). */
export const readNixFile = (dir: string, file: string): string => readFileSync(join(dir, file), "utf8")

/** The sources an evaluation inlines, from `dir`. */
export const readNixSources = (dir: string): NixSources => ({
  lib: readNixFile(dir, nixSourceFiles.lib),
  ciActions: readNixFile(dir, nixSourceFiles.ciActions)
})
