import { Context, Effect, Layer, Option, Schema } from "effect"
import { Process, type ProcessError } from "./Process.ts"

/** What `tool plan` asks of the checkout: commits, ancestry and branches. */

export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  operation: Schema.String,
  directory: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `git ${this.operation} failed in ${this.directory}: ${this.detail}`
  }
}

const CommitSha = Schema.String.pipe(Schema.check(Schema.isPattern(/^[0-9a-f]{40}([0-9a-f]{24})?$/)))
const decodeSha = Schema.decodeUnknownEffect(CommitSha)

export class Git extends Context.Service<Git, {
  /** The top of the work tree containing `directory`. */
  toplevel(directory: string): Effect.Effect<string, GitError>
  /** The full sha of a commit, or none when `rev` names no commit in this clone. */
  resolveCommit(directory: string, rev: string): Effect.Effect<Option.Option<string>, GitError>
  isShallow(directory: string): Effect.Effect<boolean, GitError>
  mergeBase(directory: string, a: string, b: string): Effect.Effect<Option.Option<string>, GitError>
  /** Remote branches (without the remote's name) whose tip contains `commit`. */
  remoteBranchesContaining(directory: string, commit: string): Effect.Effect<ReadonlyArray<string>, GitError>
  currentBranch(directory: string): Effect.Effect<Option.Option<string>, GitError>
  /** Whether tracked files differ from HEAD. */
  isDirty(directory: string): Effect.Effect<boolean, GitError>
}>()("ci/effects/Git") {
  static readonly layer = Layer.effect(
    Git,
    Effect.gen(function*() {
      const process = yield* Process

      const git = (operation: string, directory: string, args: ReadonlyArray<string>, allowFailure = false) =>
        process.run("git", ["-C", directory, ...args], { allowFailure, timeout: "2 minutes" }).pipe(
          Effect.mapError((error: ProcessError) => new GitError({ operation, directory, detail: error.message }))
        )

      const lines = (text: string) => text.split("\n").map((line) => line.trim()).filter((line) => line !== "")

      const toplevel = Effect.fn("Git.toplevel")(function*(directory: string) {
        const result = yield* git("rev-parse --show-toplevel", directory, ["rev-parse", "--show-toplevel"])
        return result.stdout.trim()
      })

      const resolveCommit = Effect.fn("Git.resolveCommit")(function*(directory: string, rev: string) {
        // `--end-of-options` keeps a rev such as `--help` from being read as an option.
        const result = yield* git("rev-parse", directory, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`], true)
        if (result.exitCode !== 0) return Option.none()
        const sha = yield* decodeSha(result.stdout.trim()).pipe(
          Effect.mapError((error) => new GitError({ operation: "rev-parse", directory, detail: error.message }))
        )
        return Option.some(sha)
      })

      const isShallow = Effect.fn("Git.isShallow")(function*(directory: string) {
        const result = yield* git("rev-parse --is-shallow-repository", directory, ["rev-parse", "--is-shallow-repository"])
        return result.stdout.trim() === "true"
      })

      const mergeBase = Effect.fn("Git.mergeBase")(function*(directory: string, a: string, b: string) {
        const result = yield* git("merge-base", directory, ["merge-base", "--end-of-options", a, b], true)
        // Exit 1 means "no common ancestor"; anything else is a real failure.
        if (result.exitCode === 1) return Option.none()
        if (result.exitCode !== 0) {
          return yield* new GitError({ operation: "merge-base", directory, detail: result.stderr.trim() })
        }
        return Option.some(result.stdout.trim())
      })

      const remoteBranchesContaining = Effect.fn("Git.remoteBranchesContaining")(function*(directory: string, commit: string) {
        const result = yield* git("for-each-ref", directory, [
          "for-each-ref",
          "--format=%(refname)",
          "--contains",
          commit,
          "refs/remotes"
        ])
        return lines(result.stdout)
          .map((ref) => ref.split("/").slice(3).join("/"))
          .filter((branch) => branch !== "" && branch !== "HEAD")
      })

      const currentBranch = Effect.fn("Git.currentBranch")(function*(directory: string) {
        const result = yield* git("symbolic-ref", directory, ["symbolic-ref", "--quiet", "--short", "HEAD"], true)
        return result.exitCode === 0 ? Option.some(result.stdout.trim()) : Option.none()
      })

      const isDirty = Effect.fn("Git.isDirty")(function*(directory: string) {
        const result = yield* git("status", directory, ["status", "--porcelain", "--untracked-files=no"])
        return result.stdout.trim() !== ""
      })

      return Git.of({ toplevel, resolveCommit, isShallow, mergeBase, remoteBranchesContaining, currentBranch, isDirty })
    })
  )
}
