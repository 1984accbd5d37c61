import { pathToFileURL } from "node:url"

/** Where a flake is, at which commit, as Nix's pure evaluation takes it. */

export interface FlakeSource {
  /** The top of the git work tree. */
  readonly repository: string
  /** The flake's directory relative to `repository` (`.` at the root). */
  readonly flakeDir: string
  /** Undefined: the work tree, uncommitted changes to tracked files included, as `nix build .#x` sees it. */
  readonly rev: string | undefined
  /** A shallow clone needs `shallow=1`, or Nix refuses to fetch from it. */
  readonly shallow: boolean
}

/** The flake's `flake.lock`, from the top of the work tree (as `git cat-file blob` takes it). */
export const flakeLockPath = (flakeDir: string): string => (flakeDir === "." ? "flake.lock" : `${flakeDir}/flake.lock`)

/** A `git+file` reference locked to a revision (which pure evaluation accepts), or the work tree's. */
export const flakeRef = (source: FlakeSource): string => {
  const params = new URLSearchParams(source.rev === undefined ? {} : { rev: source.rev })
  if (source.shallow) params.set("shallow", "1")
  if (source.flakeDir !== ".") params.set("dir", source.flakeDir)
  const query = params.toString()
  return `git+${pathToFileURL(source.repository).href}${query === "" ? "" : `?${query}`}`
}
