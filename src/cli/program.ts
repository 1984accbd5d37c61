import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeStdio from "@effect/platform-node/NodeStdio"
import { Console, Effect, Layer, Runtime, Schema } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { bot } from "./bot.ts"
import { build } from "./build.ts"
import { check } from "./check.ts"
import { deploy } from "./deploy.ts"
import { hook } from "./hook.ts"
import { plan } from "./plan.ts"
import { run } from "./run.ts"
import { watch } from "./watch.ts"
import { why } from "./why.ts"
import { ExitCode } from "../domain/errors.ts"
import { toolVersion } from "../domain/toolVersion.ts"
import { lazyTerminalLayer } from "../effects/lazyTerminal.ts"

// The `tool` command, apart from the act of running it: src/cli.ts runs it on start, and
// tool plan's start-up snapshot (src/cli/snapshot.ts) loads it while being built and runs it
// when a plan starts from the snapshot.

/** The process exits with this code; the message has already been printed. */
class Exit extends Schema.TaggedError<Exit>()("Exit", { code: Schema.Int }) {
  override get [Runtime.errorExitCode]() {
    return this.code
  }
  override readonly [Runtime.errorReported] = false
}

/** One line for a mistake on the command line; the whole help is one `--help` away. */
const mistakeLine = (error: CliError.NonShowHelpErrors): string =>
  error._tag === "UnrecognizedOption"
    ? `unknown flag ${error.option}${error.suggestions.length > 0 ? `; did you mean ${error.suggestions.join(" or ")}?` : ""}`
    : error.message.split("\n")[0]!

const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.forEach(
        event.errors,
        (error) => Console.error(`error: ${mistakeLine(error)} (${event.commandPath.join(" ")} --help lists every flag)`),
        { discard: true }
      )
      : CliOutput.defaultPresenter.present(event)
}

// NodeServices.layer, but with a terminal made only when used (src/effects/lazyTerminal.ts).
const nodeServices = Layer.provideMerge(
  NodeChildProcessSpawner.layer,
  Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeStdio.layer, lazyTerminalLayer)
)

const root = Command.make("tool").pipe(
  Command.withDescription("ci: plan, check, build and deploy a Nix flake on Buildkite"),
  // Each command's definition (src/cli/) loads its work (src/commands/) when it runs.
  Command.withSubcommands([plan, check, build, deploy, run, hook, watch, why, bot])
)

/**
 * The process ends as soon as the command has and its output is out, with the code runMain's
 * default teardown gives. Node left to end by itself (as runMain leaves it on success) first
 * waits for its event loop to empty and frees its heap, about 1 ms more after a plan; whatever
 * the command opened, its scope has closed before this runs.
 */
const exitWhenWritten: Runtime.Teardown = (exit) =>
  Runtime.defaultTeardown(exit, (code) => {
    // A pipe is written asynchronously on some systems (macOS): exit once what is queued is out.
    const pending = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0)
    void Promise.all(pending.map((stream) => new Promise((written) => stream.write("", written)))).then(() => process.exit(code))
  })

/** The `tool` command, run on `process.argv`: the process exits when it ends. */
export const runCli = () =>
  Command.run(root, { version: toolVersion }).pipe(
    // One line for the user, and the documented exit code. Usage errors were
    // already shown, one line each (presenter); defects keep runMain's full report.
    Effect.catch((error) =>
      CliError.isCliError(error)
        ? Effect.fail(new Exit({ code: ExitCode.BadInput }))
        : Console.error(`error: ${error.message}`).pipe(
          Effect.andThen(Effect.fail(new Exit({ code: Runtime.getErrorExitCode(error) })))
        )
    ),
    Effect.provide(CliOutput.layerPresenter(presenter)),
    Effect.provide(nodeServices),
    NodeRuntime.runMain({ teardown: exitWhenWritten })
  )
