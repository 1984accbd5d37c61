/**
 * Nix versions, and what differs between them that the tool relies on. Detected
 * (`builtins.nixVersion`, or `nix --version` when Nix cannot evaluate), never assumed.
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
 * `nix (Lix, like Nix) 2.91.1`, `nix (Determinate Nix 3.6.2) 2.29.0` and the like: the
 * last version on the first line is Nix's own.
 */
export const parseNixVersion = (output: string): NixVersion | undefined => {
  const firstLine = output.trim().split("\n", 1)[0] ?? ""
  const match = [...firstLine.matchAll(/\b(\d+)\.(\d+)(?:\.(\d+))?/g)].at(-1)
  if (match === undefined) return undefined
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0), text: firstLine }
}

/** The oldest Nix the tool is tested with: flakes, `nix eval --apply`, `--log-format internal-json`. */
export const minimumVersion = { major: 2, minor: 8 } as const

/** Why this Nix cannot be used, if it cannot. */
export const unsupportedReason = (version: NixVersion): string | undefined =>
  atLeast(version, minimumVersion.major, minimumVersion.minor)
    ? undefined
    : `${version.text} is too old: ci needs Nix ${minimumVersion.major}.${minimumVersion.minor} or later, for flakes`

export const atLeast = (version: NixVersion, major: number, minor: number): boolean =>
  version.major > major || (version.major === major && version.minor >= minor)

/**
 * An installable for every output of a store derivation: `drv^*` from Nix 2.13,
 * which introduced the syntax; the bare `.drv` path before it (from 2.15 a bare
 * `.drv` path means the file itself, not its outputs).
 */
export const derivationOutputs = (version: NixVersion, drvPath: string): string =>
  atLeast(version, 2, 13) ? `${drvPath}^*` : drvPath
