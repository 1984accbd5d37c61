import { readFileSync } from "node:fs"

/**
 * Whether a process is alive: it exists and has not ended. A process that ended is a
 * zombie until its parent reaps it, which for an orphan may be never here, and
 * `kill(pid, 0)` still finds a zombie.
 */
export const isRunning = (pid: number): boolean => {
  try {
    // The state follows the command's name in parentheses, which may itself hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}
