import { Effect } from "effect"

/**
 * A command's handler loaded when the command runs: `tool --help` and the other commands
 * never load (nor compile) its code, and esbuild puts it in a chunk of its own.
 */
export const lazily = <M, I, A, E, R>(load: () => Promise<M>, run: (module: M, input: I) => Effect.Effect<A, E, R>) => (input: I) =>
  Effect.flatMap(Effect.promise(load), (module) => run(module, input))
