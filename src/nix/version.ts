/**
 * Nix versions, and what differs between them that the tool relies on. Detected
 * from `nix --version`, never assumed.
 */

export interface NixVersion {
  readonly major: number
  readonly minor: number
  readonly patch: number
  /** As Nix printed it, for messages. */
  readonly text: string
}

/**
 * Reads `nix (Nix) 2.8.0`, `nix (Nix) 2.18.1+dfsg`, `nix (Nix) 2.24.0pre20240101_abc`,
 * `nix (Lix, like Nix) 2.91.1` and the like.
 */
export const parseNixVersion = (output: string): NixVersion | undefined => {
  const match = /\b(\d+)\.(\d+)(?:\.(\d+))?/.exec(output)
  if (match === null) return undefined
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0), text: output.trim() }
}

export const atLeast = (version: NixVersion, major: number, minor: number): boolean =>
  version.major > major || (version.major === major && version.minor >= minor)

/**
 * An installable for every output of a store derivation: `drv^*` from Nix 2.13,
 * which introduced the syntax; the bare `.drv` path before it (from 2.15 a bare
 * `.drv` path means the file itself, not its outputs).
 */
export const derivationOutputs = (version: NixVersion, drvPath: string): string =>
  atLeast(version, 2, 13) ? `${drvPath}^*` : drvPath
