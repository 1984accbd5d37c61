import { realpathSync, statSync } from "node:fs"
import { join } from "node:path"

/**
 * Which Nix evaluates, for the evaluation cache's key: the `nix` first on PATH, resolved, with
 * its size and modification time; undefined when there is none. `nix --version` says less (two
 * builds of one version) and costs a process that every head would wait for before its key
 * could be known; this is a few stats, done synchronously, because the plan's head start
 * (src/commands/plan/prestart.ts) looks in the cache before effect has loaded, and the key it
 * computes must be the one Evaluations computes. The time is in whole seconds: Node's `stat`
 * and `statSync` round the same file's time to different milliseconds.
 */
export const nixIdentity = (searchPath: string): string | undefined => {
  for (const directory of searchPath.split(":").filter((entry) => entry !== "")) {
    try {
      const real = realpathSync(join(directory, "nix"))
      const info = statSync(real)
      if (info.isFile()) return `${real} ${info.size} ${Math.floor(info.mtimeMs / 1000)}`
    } catch {
      // Not here: the next directory.
    }
  }
  return undefined
}
