import type { DerivationResult } from "../../src/domain/results.ts"

/** A derivation's result as `tool build` records it: `bot`, built in 1.5 s, unless told otherwise. */
export const derivationResult = (overrides: Partial<DerivationResult> = {}): DerivationResult => ({
  version: 1,
  kind: "build",
  target: "packages.x86_64-linux.bot",
  installable: ".#packages.x86_64-linux.bot",
  name: "bot",
  drvPath: "/nix/store/00000000000000000000000000000000-bot.drv",
  outputs: {},
  status: "built",
  durationMs: 1500,
  exitCode: null,
  signal: null,
  error: null,
  failedDependencies: [],
  logTail: [],
  logTruncated: 0,
  logCommand: null,
  ...overrides
})
