#!/usr/bin/env node
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Layer, Runtime, Schema } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { bot } from "./commands/bot.ts"
import { build } from "./commands/build.ts"
import { check } from "./commands/check.ts"
import { deploy } from "./commands/deploy.ts"
import { hook } from "./commands/hook.ts"
import { plan } from "./commands/plan.ts"
import { run } from "./commands/run.ts"
import { watch } from "./commands/watch.ts"
import { why } from "./commands/why.ts"
import { BuildkiteAgent } from "./effects/BuildkiteAgent.ts"
import { Git } from "./effects/Git.ts"
import { Process } from "./effects/Process.ts"
import { ExitCode } from "./domain/errors.ts"
import { BinaryCache } from "./nix/BinaryCache.ts"
import { Derivations } from "./nix/Derivations.ts"
import { Evaluations } from "./nix/Evaluations.ts"
import { Nix } from "./nix/Nix.ts"
import { toolVersion } from "./domain/toolVersion.ts"


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

// Built only for the command that runs, so --help and --version need none of it.
const services = Layer.mergeAll(Git.layer, Nix.layer, BuildkiteAgent.layer).pipe(Layer.provideMerge(Process.layer))

const root = Command.make("tool").pipe(
  Command.withDescription("ci: plan, check, build and deploy a Nix flake on Buildkite"),
  Command.withSubcommands([
    plan.pipe(Command.provide(Layer.merge(services, Derivations.layer))),
    check.pipe(Command.provide(services)),
    build.pipe(Command.provide(Layer.merge(services, BinaryCache.layer.pipe(Layer.provide(Process.layer))))),
    deploy.pipe(Command.provide(services)),
    run.pipe(Command.provide(Layer.merge(services, Evaluations.layer({ cache: true }).pipe(Layer.provide(services))))),
    hook.pipe(Command.provide(services)),
    watch.pipe(Command.provide(Layer.merge(services, Evaluations.layer({ cache: true }).pipe(Layer.provide(services))))),
    why.pipe(Command.provide(Layer.merge(services, Derivations.layer))),
    bot
  ])
)

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
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
