/** How `tool plan` has Nix evaluate the commits it compares. */

/** Nix's name for this platform as Node sees it; Nix may be configured otherwise. */
export const guessSystem = (): string | undefined => {
  const arch = ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[process.arch]
  const os = ({ linux: "linux", darwin: "darwin" } as Record<string, string>)[process.platform]
  return arch === undefined || os === undefined ? undefined : `${arch}-${os}`
}
