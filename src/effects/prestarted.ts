import { type ChildProcess, spawn } from "node:child_process"
import { outputCollector } from "./outputCollector.ts"

/**
 * Processes started before the tool's code has loaded (src/commands/plan/prestart.ts), for
 * `Process.run` to take over. Loading the tool costs Node about a fifth of a second; a
 * plan's evaluations can run meanwhile. A prestarted process is used only by a run of
 * exactly its command line, in the same directory and environment, with the same input and
 * the default output cap; one that nothing takes is killed when the tool exits. Plain Node,
 * without effect: this runs before effect has loaded.
 */

export interface Finished {
  /** Null when a signal ended the process. */
  readonly exitCode: number | null
  readonly signal: string | undefined
  readonly stdout: string
  readonly stderr: string
  /** More than the limit was written to stdout or stderr: the text is cut there. */
  readonly overflowed: boolean
}

export interface Prestarted {
  /** Undefined when it could not start: the caller starts its own, and says why that failed. */
  readonly finished: Promise<Finished | undefined>
  readonly kill: () => void
}

const started = new Map<string, { readonly child: ChildProcess; readonly finished: Promise<Finished | undefined> }>()

const keyOf = (command: string, args: ReadonlyArray<string>, stdin: string | undefined) => JSON.stringify([command, args, stdin])

const collect = (stream: NodeJS.ReadableStream, limit: number) => {
  const collector = outputCollector(limit)
  stream.on("data", collector.add)
  return collector.result
}

let killOnExit = false

/** Start `command` now, in this directory and environment, given `stdin`, its output collected up to `limit` bytes a stream. */
export const prestart = (command: string, args: ReadonlyArray<string>, limit: number, stdin?: string): void => {
  const key = keyOf(command, args, stdin)
  if (started.has(key)) return
  const child = spawn(command, args, { stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] })
  // A program that exits without reading all of it is no error of the tool's.
  child.stdin?.on("error", () => {})
  child.stdin?.end(stdin)
  const stdout = collect(child.stdout!, limit)
  const stderr = collect(child.stderr!, limit)
  const finished = new Promise<Finished | undefined>((resolve) => {
    child.on("error", () => resolve(undefined))
    child.on("close", (exitCode, signal) => {
      const [out, err] = [stdout(), stderr()]
      resolve({ exitCode, signal: signal ?? undefined, stdout: out.text, stderr: err.text, overflowed: out.overflowed || err.overflowed })
    })
  })
  started.set(key, { child, finished })
  if (!killOnExit) {
    killOnExit = true
    process.on("exit", () => {
      for (const { child } of started.values()) child.kill("SIGTERM")
    })
  }
}

/** The process prestarted with exactly this command line and input, now this caller's (no one else gets it), or undefined. */
export const takePrestarted = (command: string, args: ReadonlyArray<string>, stdin: string | undefined): Prestarted | undefined => {
  const key = keyOf(command, args, stdin)
  const found = started.get(key)
  if (found === undefined) return undefined
  started.delete(key)
  return { finished: found.finished, kill: () => void found.child.kill("SIGTERM") }
}
