import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Effect, Layer, Scope, Terminal } from "effect"

/**
 * The process's terminal, made when a command first uses it. effect's CLI asks for a `Terminal`
 * for every command, and Node's makes `process.stdin` when made: with stdin a file or
 * `/dev/null`, as on an agent, that is Node loading its file streams (8 ms of CPU from the bundle,
 * about 1 ms from the plan's snapshot, which holds them) while a plan's evaluations run. Only
 * `tool run` asks for input.
 */
export const lazyTerminalLayer = Layer.effect(
  Terminal.Terminal,
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const terminal = yield* Effect.cached(NodeTerminal.make().pipe(Scope.provide(scope)))
    return Terminal.make({
      columns: Effect.flatMap(terminal, (made) => made.columns),
      rows: Effect.flatMap(terminal, (made) => made.rows),
      size: Effect.flatMap(terminal, (made) => made.size),
      readInput: Effect.flatMap(terminal, (made) => made.readInput),
      readLine: Effect.flatMap(terminal, (made) => made.readLine),
      display: (text) => Effect.flatMap(terminal, (made) => made.display(text))
    })
  })
)
