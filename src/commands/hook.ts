import { Console, Effect, FileSystem, Path } from "effect"
import { PlanInputError } from "../domain/errors.ts"
import { Git } from "../effects/Git.ts"
import { hookMarker, prePushHook } from "../render/hook.ts"
import { notInGit } from "./plan/checkout.ts"
import { services } from "./services.ts"

/**
 * `tool hook install [--uninstall]`: a git `pre-push` hook that runs `tool run` on
 * what is pushed. A hook that is not the tool's is never overwritten or removed.
 */

const installIn = Effect.fn("hook.install")(function*(input: { readonly uninstall: boolean }) {
  const git = yield* Git
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const cwd = path.resolve(".")
  const hooks = yield* git.hooksDir(cwd).pipe(Effect.mapError(() => notInGit(cwd)))
  const file = path.join(hooks, "pre-push")
  const existing = yield* fs.readFileString(file).pipe(Effect.option)
  const ours = existing._tag === "Some" && existing.value.includes(hookMarker)

  if (input.uninstall) {
    if (existing._tag === "None") return yield* Console.error(`no pre-push hook in ${hooks}: nothing to remove`)
    if (!ours) return yield* new PlanInputError({ place: file, detail: "this pre-push hook was not written by tool hook install; left as it is" })
    yield* fs.remove(file).pipe(Effect.orDie)
    return yield* Console.error(`removed ${file}`)
  }
  if (existing._tag === "Some" && !ours) {
    return yield* new PlanInputError({
      place: file,
      detail: "a pre-push hook that tool hook install did not write is already there; add `tool run` to it, or move it away first"
    })
  }
  // The hook runs this same tool: the Node and the script running now.
  const text = yield* Effect.fromResult(prePushHook([process.execPath, ...process.argv.slice(1, 2)])).pipe(
    Effect.mapError((word) => new PlanInputError({ place: "the tool's path", detail: `${JSON.stringify(word)} cannot be written in a shell script` }))
  )
  yield* fs.makeDirectory(hooks, { recursive: true }).pipe(Effect.orDie)
  yield* fs.writeFileString(file, text, { mode: 0o755 }).pipe(Effect.orDie)
  yield* fs.chmod(file, 0o755).pipe(Effect.orDie)
  yield* Console.error(`${ours ? "updated" : "installed"} ${file}: git push now runs tool run (checks and builds) on what it pushes`)
})

/** `tool hook install`: its flags and help are src/cli/hook.ts's. */
export const install = (input: { readonly uninstall: boolean }) => installIn(input).pipe(Effect.provide(services))
