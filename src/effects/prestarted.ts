import { type StartOptions, type Started, startProcess } from "./plainProcess.ts"

/**
 * Processes started before the tool's code has loaded (src/commands/plan/prestart.ts), for
 * `Process.run` to take over. Loading the tool costs Node about a fifth of a second; a
 * plan's evaluations can run meanwhile. A prestarted process is used only by a run of
 * exactly its command line, in the same directory and environment, with the same input, the
 * same way of taking its output and the default output cap; one that nothing takes is killed
 * when the tool exits. Plain Node, without effect: this runs before effect has loaded.
 */

type How = Omit<StartOptions, "cwd" | "env">

const started = new Map<string, Started>()

const keyOf = (command: string, args: ReadonlyArray<string>, how: Omit<How, "limit">) =>
  JSON.stringify([command, args, how.stdin, how.stdoutViaFile === true])

let killOnExit = false

/** Start `command` now, in this directory and environment, as `how` says. */
export const prestart = (command: string, args: ReadonlyArray<string>, how: How): void => {
  const key = keyOf(command, args, how)
  if (started.has(key)) return
  started.set(key, startProcess(command, args, how))
  if (!killOnExit) {
    killOnExit = true
    process.on("exit", () => {
      for (const { kill } of started.values()) kill()
    })
  }
}

/** The process prestarted with exactly this command line, input and way of taking its output, now this caller's (no one else gets it), or undefined. */
export const takePrestarted = (command: string, args: ReadonlyArray<string>, how: Omit<How, "limit">): Started | undefined => {
  const key = keyOf(command, args, how)
  const found = started.get(key)
  if (found !== undefined) started.delete(key)
  return found
}
