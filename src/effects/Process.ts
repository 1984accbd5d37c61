import { Context, Duration, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import type { PlatformError } from "effect"
import { ChildProcess, ChildProcessSpawner, CommandLine } from "effect/process"
import { logTails } from "../domain/logTails.ts"
import { defaultMaxOutputBytes, outputCollector } from "./outputCollector.ts"
import { type Finished, type Started, startProcess } from "./plainProcess.ts"
import { takePrestarted } from "./prestarted.ts"

/**
 * The one way this tool runs a program: stdout, stderr and the exit code are read
 * together, a non-zero exit is an error carrying the end of stderr, and every run
 * has a timeout and an output cap.
 */

export interface RunOptions {
  readonly cwd?: string | undefined
  /** Added to the inherited environment (a variable set to undefined is removed from it). */
  readonly env?: Readonly<Record<string, string | Redacted.Redacted<string> | undefined>> | undefined
  readonly stdin?: string | undefined
  readonly timeout?: Duration.Input | undefined
  readonly maxOutputBytes?: number | undefined
  /** Return the result of a non-zero exit instead of failing. */
  readonly allowFailure?: boolean | undefined
  /**
   * Receive output line by line as it arrives, instead of collected: the result
   * then holds only the last lines of each stream, for messages.
   */
  readonly onLine?: ((line: string, stream: "stdout" | "stderr") => Effect.Effect<void>) | undefined
  /**
   * Stdout to an unlinked temporary file, read once the program ends, instead of a pipe read
   * piece by piece (`StartOptions.stdoutViaFile`): for large output, such as an evaluation's.
   * Not with `onLine`.
   */
  readonly stdoutViaFile?: boolean | undefined
}

export interface ProcessResult {
  /** Null when a signal ended the process. */
  readonly exitCode: number | null
  readonly signal: string | undefined
  readonly stdout: string
  readonly stderr: string
}

interface Ending {
  readonly exitCode: number | null
  readonly signal: string | undefined
}

// Effect reports a process a signal ended as a failure to get its exit code, the
// signal named in the failure's cause.
const ending = (exitCode: Effect.Effect<number, PlatformError.PlatformError>): Effect.Effect<Ending, PlatformError.PlatformError> =>
  exitCode.pipe(
    Effect.map((code): Ending => ({ exitCode: code, signal: undefined })),
    Effect.catch((error) => {
      const said = [error.message, error.cause instanceof Error ? error.cause.message : ""].join("\n")
      const signal = /receipt of signal: '(\w+)'/.exec(said)?.[1]
      return signal === undefined ? Effect.fail(error) : Effect.succeed<Ending>({ exitCode: null, signal })
    })
  )

const defaultTimeout = Duration.minutes(30)

/** The tool's environment with `added` on top (secrets revealed for the program, undefined removed), as effect's `extendEnv` makes it. */
const extendedEnvironment = (added: NonNullable<RunOptions["env"]>): NodeJS.ProcessEnv => {
  const environment = { ...process.env }
  for (const [name, value] of Object.entries(added)) {
    if (value === undefined) delete environment[name]
    else environment[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return environment
}

/** The last lines of a text, for error messages. */
export const tailLines = (text: string, count: number): string => {
  const lines = text.trimEnd().split("\n")
  return lines.slice(-count).join("\n")
}

/** A command line for messages: long arguments (such as a whole Nix expression) are abbreviated. */
export const showCommand = (command: string, args: ReadonlyArray<string>): string =>
  CommandLine.display([command, ...args.map((arg) => (arg.length > 120 ? `<${arg.length} characters>` : arg))])

export class ProcessFailed extends Schema.TaggedError<ProcessFailed>()("ProcessFailed", {
  command: Schema.String,
  exitCode: Schema.NullOr(Schema.Int),
  signal: Schema.optionalKey(Schema.String),
  stderr: Schema.String
}) {
  override get message() {
    const tail = tailLines(this.stderr, logTails.message)
    const how = this.signal === undefined ? `exited with code ${this.exitCode}` : `was killed by ${this.signal}`
    return `${this.command} ${how}${tail === "" ? "" : `:\n${tail}`}`
  }
}

export class ProcessSpawnFailed extends Schema.TaggedError<ProcessSpawnFailed>()("ProcessSpawnFailed", {
  command: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `could not run ${this.command}: ${this.detail}`
  }
}

export class ProcessTimedOut extends Schema.TaggedError<ProcessTimedOut>()("ProcessTimedOut", {
  command: Schema.String,
  timeout: Schema.String
}) {
  override get message() {
    return `${this.command} did not finish within ${this.timeout}`
  }
}

export class ProcessOutputTooLarge extends Schema.TaggedError<ProcessOutputTooLarge>()("ProcessOutputTooLarge", {
  command: Schema.String,
  limitBytes: Schema.Int
}) {
  override get message() {
    return `${this.command} wrote more than ${this.limitBytes} bytes of output`
  }
}

/** How a run can fail: what the errors of the services that run programs keep as their cause. */
export const ProcessError = Schema.Union([ProcessFailed, ProcessSpawnFailed, ProcessTimedOut, ProcessOutputTooLarge])
export type ProcessError = typeof ProcessError.Type

const collect = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>, limit: number) =>
  Effect.suspend(() => {
    const collector = outputCollector(limit)
    return stream.pipe(Stream.runForEach((chunk) => Effect.sync(() => collector.add(chunk))), Effect.map(collector.result))
  })

/** Pass each line on as it arrives, keeping the last few for the result. */
const forward = (
  stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>,
  name: "stdout" | "stderr",
  onLine: (line: string, stream: "stdout" | "stderr") => Effect.Effect<void>
) => {
  const tail: Array<string> = []
  return stream.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEach((line) => {
      tail.push(line)
      if (tail.length > logTails.streamed) tail.shift()
      return onLine(line, name)
    }),
    Effect.map(() => tail.join("\n"))
  )
}

// A plainly started process's end: started (or taken over) as the wait begins, so that an
// interruption (a timeout, a failed plan) always finds it to kill. Undefined: none was started.
const waitFor = (start: () => Started | undefined) =>
  Effect.callback<Finished | undefined>((resume) => {
    const started = start()
    if (started === undefined) return resume(Effect.succeed(undefined))
    started.finished.then((finished) => resume(Effect.succeed(finished)))
    return Effect.sync(started.kill)
  })

export class Process extends Context.Service<Process, {
  run(command: string, args: ReadonlyArray<string>, options?: RunOptions): Effect.Effect<ProcessResult, ProcessError>
}>()("ci/effects/Process") {
  static readonly layer = Layer.effect(
    Process,
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner

      const run = Effect.fn("Process.run")(function*(
        command: string,
        args: ReadonlyArray<string>,
        options: RunOptions = {}
      ) {
        const shown = showCommand(command, args)
        const limit = options.maxOutputBytes ?? defaultMaxOutputBytes
        const timeout = options.timeout ?? defaultTimeout
        const spawnFailed = (error: PlatformError.PlatformError) =>
          new ProcessSpawnFailed({ command: shown, detail: error.message })

        const spawned = Effect.gen(function*() {
          const handle = yield* spawner.spawn(
            ChildProcess.make(command, args, {
              cwd: options.cwd,
              env: options.env,
              extendEnv: true,
              stdin: options.stdin === undefined ? "ignore" : Stream.make(new TextEncoder().encode(options.stdin))
            })
          )
          if (options.onLine !== undefined) {
            const [stdout, stderr, end] = yield* Effect.all([
              forward(handle.stdout, "stdout", options.onLine),
              forward(handle.stderr, "stderr", options.onLine),
              ending(handle.exitCode)
            ], { concurrency: "unbounded" })
            return { ...end, stdout, stderr }
          }
          const [stdout, stderr, end] = yield* Effect.all([collect(handle.stdout, limit), collect(handle.stderr, limit), ending(handle.exitCode)], {
            concurrency: "unbounded"
          })
          return stdout.overflowed || stderr.overflowed ? undefined : { ...end, stdout: stdout.text, stderr: stderr.text }
        }).pipe(Effect.scoped, Effect.mapError(spawnFailed))
        // A process started before the tool loaded, with this very command line and input, is this
        // run's when the run asks nothing else of its own (prestarted ones keep the default cap).
        const asIs = options.cwd === undefined && options.env === undefined && options.onLine === undefined && options.maxOutputBytes === undefined
        const how = { stdin: options.stdin, stdoutViaFile: options.stdoutViaFile }
        // Effect's processes give their output as streams only: output to a file is started plainly.
        const startPlainly = options.stdoutViaFile === true && options.onLine === undefined
          ? () => startProcess(command, args, { ...how, limit, cwd: options.cwd, env: options.env === undefined ? undefined : extendedEnvironment(options.env) })
          : undefined
        const plainly = asIs || startPlainly !== undefined
          ? Effect.flatMap(waitFor(() => (asIs ? takePrestarted(command, args, how) : undefined) ?? startPlainly?.()), (finished) =>
            finished === undefined
              ? spawned
              : Effect.succeed(finished.overflowed ? undefined : { exitCode: finished.exitCode, signal: finished.signal, stdout: finished.stdout, stderr: finished.stderr }))
          : spawned
        const outcome = yield* plainly.pipe(Effect.timeoutOption(timeout))

        if (Option.isNone(outcome)) {
          return yield* new ProcessTimedOut({ command: shown, timeout: Duration.format(Duration.fromInputUnsafe(timeout)) })
        }
        const result: ProcessResult | undefined = outcome.value
        if (result === undefined) {
          return yield* new ProcessOutputTooLarge({ command: shown, limitBytes: limit })
        }
        if (result.exitCode !== 0 && options.allowFailure !== true) {
          return yield* new ProcessFailed({
            command: shown,
            exitCode: result.exitCode,
            ...(result.signal === undefined ? {} : { signal: result.signal }),
            stderr: result.stderr
          })
        }
        return result
      })

      return Process.of({ run })
    })
  )
}
