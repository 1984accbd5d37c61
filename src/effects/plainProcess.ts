import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { closeSync, fstatSync, openSync, readSync, rmSync, unlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { outputCollector } from "./outputCollector.ts"

/**
 * A program started with plain Node, its output collected: how a process is started before
 * effect has loaded (prestarted.ts), and how `Process.run` runs a program whose output goes
 * to a file (`stdoutViaFile`), which effect's process API cannot give a file.
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

export interface Started {
  /** Undefined when it could not start: the caller runs it another way, which says why that failed. */
  readonly finished: Promise<Finished | undefined>
  readonly kill: () => void
}

export interface StartOptions {
  /** What the program reads; none (`/dev/null`) when undefined. */
  readonly stdin?: string | undefined
  /** How many bytes of each stream are kept. */
  readonly limit: number
  /**
   * Stdout to an unlinked temporary file, read once when the program ends, instead of a pipe.
   * For large output written a little at a time (Nix 2.8 writes an evaluation's JSON 4 KiB at
   * a time as it evaluates): each read from a pipe costs Node about 0.3 ms of CPU, 150 ms for
   * the 2 MB of 10,000 derivations, taken from the evaluations beside it.
   */
  readonly stdoutViaFile?: boolean | undefined
  readonly cwd?: string | undefined
  /** The whole environment; the tool's own when undefined. */
  readonly env?: NodeJS.ProcessEnv | undefined
}

/** How often a file's size is checked against the limit while the program runs. */
const fileCheckMillis = 250

const collect = (stream: NodeJS.ReadableStream, limit: number) => {
  const collector = outputCollector(limit)
  stream.on("data", collector.add)
  return collector.result
}

/**
 * An unlinked temporary file, open for reading and writing: nothing is left behind however the
 * tool ends (made with O_EXCL and mode 600, so no name planted in TMPDIR is followed). Undefined
 * when none can be made: the run then uses a pipe.
 */
const anonymousFile = (): number | undefined => {
  const path = join(tmpdir(), `ci-output-${process.pid}-${randomBytes(6).toString("hex")}`)
  let descriptor: number
  try {
    descriptor = openSync(path, "wx+", 0o600)
  } catch {
    return undefined
  }
  try {
    unlinkSync(path)
    return descriptor
  } catch {
    closeSync(descriptor)
    rmSync(path, { force: true })
    return undefined
  }
}

/** The file's text from its start, kept up to `limit` bytes, read a piece at a time; past the limit, not read. */
const readWhole = (descriptor: number, limit: number) => {
  if (fstatSync(descriptor).size > limit) return { text: "", overflowed: true }
  const collector = outputCollector(limit)
  const buffer = Buffer.allocUnsafe(1024 * 1024)
  for (let position = 0;;) {
    const read = readSync(descriptor, buffer, 0, buffer.length, position)
    if (read === 0) break
    collector.add(buffer.subarray(0, read))
    position += read
  }
  return collector.result()
}

const notStarted: Started = { finished: Promise.resolve(undefined), kill: () => {} }

export const startProcess = (command: string, args: ReadonlyArray<string>, options: StartOptions): Started => {
  const file = options.stdoutViaFile === true ? anonymousFile() : undefined
  const closeFile = () => {
    if (file !== undefined) closeSync(file)
  }
  let child
  try {
    // In a process group of its own, as effect's processes are: ending it ends what it started (git, for Nix).
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.stdin === undefined ? "ignore" : "pipe", file ?? "pipe", "pipe"]
    })
  } catch {
    closeFile()
    return notStarted
  }
  // Out of descriptors, Node returns a child without its pipes, which then says why with "error".
  child.on("error", () => {})
  if (child.stderr === null || (file === undefined && child.stdout === null)) {
    closeFile()
    return notStarted
  }
  const started = child
  const kill = () => {
    try {
      process.kill(-started.pid!, "SIGTERM")
    } catch {
      started.kill("SIGTERM")
    }
  }
  // A program that exits without reading all of its input is no error of the tool's.
  child.stdin?.on("error", () => {})
  child.stdin?.end(options.stdin)
  const stdout = child.stdout === null ? undefined : collect(child.stdout, options.limit)
  const stderr = collect(child.stderr, options.limit)
  // A file has no pipe to fill: past the limit, the program is stopped (and `readWhole` says so).
  const check = file === undefined ? undefined : setInterval(() => {
    if (fstatSync(file).size > options.limit) kill()
  }, fileCheckMillis).unref()
  const finished = new Promise<Finished | undefined>((resolve) => {
    // A program that cannot start says so with "error", and may "close" after it: the first ends the run.
    let ended = false
    const end = (finish: () => Finished | undefined) => {
      if (ended) return
      ended = true
      clearInterval(check)
      let finished: Finished | undefined
      try {
        finished = finish()
      } catch {
        // The file could not be read: the caller runs the program another way.
        finished = undefined
      } finally {
        closeFile()
      }
      resolve(finished)
    }
    child.on("error", () => end(() => undefined))
    child.on("close", (exitCode, signal) =>
      end(() => {
        const err = stderr()
        const out = stdout?.() ?? readWhole(file!, options.limit)
        return { exitCode, signal: signal ?? undefined, stdout: out.text, stderr: err.text, overflowed: out.overflowed || err.overflowed }
      }))
  })
  return { finished, kill }
}
