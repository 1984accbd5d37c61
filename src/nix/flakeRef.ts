import { pathToFileURL } from "node:url"

/** Where a flake is, at which commit, as Nix's pure evaluation takes it. */

export interface FlakeSource {
  /** The top of the git work tree. */
  readonly repository: string
  /** The flake's directory relative to `repository` (`.` at the root). */
  readonly flakeDir: string
  readonly rev: string
  /** A shallow clone needs `shallow=1`, or Nix refuses to fetch from it. */
  readonly shallow: boolean
}

/** A `git+file` reference locked to a revision, which pure evaluation accepts. */
export const flakeRef = (source: FlakeSource): string => {
  const params = new URLSearchParams({ rev: source.rev })
  if (source.shallow) params.set("shallow", "1")
  if (source.flakeDir !== ".") params.set("dir", source.flakeDir)
  return `git+${pathToFileURL(source.repository).href}?${params.toString()}`
}
