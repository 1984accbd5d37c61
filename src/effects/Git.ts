import { Context, Effect, Layer, Option, Schema } from "effect"
import {
  currentBranchCommand,
  fileAtCommand,
  gitArgs,
  type GitCommand,
  inspectCommand,
  isDirtyCommand,
  messagesBetweenCommand,
  resolveCommitsCommand
} from "./gitCommands.ts"
import { Process, ProcessError } from "./Process.ts"

/** What `tool plan` asks of the checkout: commits, ancestry and branches. */

export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  operation: Schema.String,
  directory: Schema.String,
  /** How git failed to run or exited, when it did. */
  cause: Schema.optionalKey(ProcessError),
  /** Otherwise, what git answered that was not expected. */
  detail: Schema.optionalKey(Schema.String)
}) {
  /** Why, in words: the process's failure, or git's unexpected answer. */
  get reason(): string {
    return this.cause?.message ?? this.detail ?? "no reason given"
  }
  override get message() {
    return `git ${this.operation} failed in ${this.directory}: ${this.reason}`
  }
}

const CommitSha = Schema.String.pipe(Schema.check(Schema.isPattern(/^[0-9a-f]{40}([0-9a-f]{24})?$/)))
const decodeSha = Schema.decodeUnknownEffect(CommitSha)

export class Git extends Context.Service<Git, {
  /** The top of the work tree containing `directory`, and whether the clone is shallow. */
  inspect(directory: string): Effect.Effect<{ readonly toplevel: string; readonly shallow: boolean }, GitError>
  /** The full sha of each commit `revs` name, or none where a rev names no commit in this clone; one git process for all. */
  resolveCommits(directory: string, revs: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Option.Option<string>>, GitError>
  mergeBase(directory: string, a: string, b: string): Effect.Effect<Option.Option<string>, GitError>
  /** Remote branches (without the remote's name) whose tip contains `commit`. */
  remoteBranchesContaining(directory: string, commit: string): Effect.Effect<ReadonlyArray<string>, GitError>
  currentBranch(directory: string): Effect.Effect<Option.Option<string>, GitError>
  /** Whether tracked files differ from HEAD. */
  /** Where this repository's hooks are (core.hooksPath respected), absolute. */
  hooksDir(directory: string): Effect.Effect<string, GitError>
  /** The commit of the current branch's upstream, if it has one. */
  upstream(directory: string): Effect.Effect<Option.Option<string>, GitError>
  isDirty(directory: string): Effect.Effect<boolean, GitError>
  /**
   * The commits after `base` up to `head` (head only without a base), newest first, with
   * their messages: where `[ci deploy …]` directives are read. At most 1,000.
   */
  messagesBetween(directory: string, base: string | undefined, head: string): Effect.Effect<ReadonlyArray<{ readonly sha: string; readonly message: string }>, GitError>
  /** A file's text at a commit (`path` from the top of the work tree); none when the commit has no such file. */
  fileAt(directory: string, commit: string, path: string): Effect.Effect<Option.Option<string>, GitError>
  /** Whether `ancestor` is `commit` or one of its ancestors. */
  isAncestor(directory: string, ancestor: string, commit: string): Effect.Effect<boolean, GitError>
  /** The tags on `commit`'s ancestors (itself left out), nearest first, with the commit each names. */
  tagsBefore(directory: string, commit: string): Effect.Effect<ReadonlyArray<{ readonly tag: string; readonly sha: string }>, GitError>
}>()("ci/effects/Git") {
  static readonly layer = Layer.effect(
    Git,
    Effect.gen(function*() {
      const runner = yield* Process

      const git = (operation: string, directory: string, command: GitCommand, options: { allowFailure?: boolean } = {}) =>
        runner.run("git", gitArgs(directory, command.args), { ...options, stdin: command.stdin, timeout: "2 minutes" }).pipe(
          Effect.mapError((cause) => new GitError({ operation, directory, cause }))
        )

      const lines = (text: string) => text.split("\n").map((line) => line.trim()).filter((line) => line !== "")

      const inspect = Effect.fn("Git.inspect")(function*(directory: string) {
        const result = yield* git("rev-parse", directory, inspectCommand)
        const [toplevel, shallow] = lines(result.stdout)
        if (toplevel === undefined || shallow === undefined) {
          return yield* new GitError({ operation: "rev-parse", directory, detail: `unexpected output: ${result.stdout}` })
        }
        return { toplevel, shallow: shallow === "true" }
      })

      const resolveCommits = Effect.fn("Git.resolveCommits")(function*(directory: string, revs: ReadonlyArray<string>) {
        const result = yield* git("cat-file", directory, resolveCommitsCommand(revs))
        const answers = result.stdout.split("\n").slice(0, revs.length)
        return yield* Effect.forEach(answers, (answer) =>
          /^[0-9a-f]+$/.test(answer)
            ? decodeSha(answer).pipe(
              Effect.map(Option.some),
              Effect.mapError((error) => new GitError({ operation: "cat-file", directory, detail: error.message }))
            )
            : Effect.succeed(Option.none<string>()))
      })

      const mergeBase = Effect.fn("Git.mergeBase")(function*(directory: string, a: string, b: string) {
        const result = yield* git("merge-base", directory, { args: ["merge-base", "--end-of-options", a, b] }, { allowFailure: true })
        // Exit 1 means "no common ancestor"; anything else is a real failure.
        if (result.exitCode === 1) return Option.none()
        if (result.exitCode !== 0) {
          return yield* new GitError({ operation: "merge-base", directory, detail: result.stderr.trim() })
        }
        return Option.some(result.stdout.trim())
      })

      const remoteBranchesContaining = Effect.fn("Git.remoteBranchesContaining")(function*(directory: string, commit: string) {
        const result = yield* git("for-each-ref", directory, {
          args: ["for-each-ref", "--format=%(refname)", "--contains", commit, "refs/remotes"]
        })
        return lines(result.stdout)
          .map((ref) => ref.split("/").slice(3).join("/"))
          .filter((branch) => branch !== "" && branch !== "HEAD")
      })

      const currentBranch = Effect.fn("Git.currentBranch")(function*(directory: string) {
        const result = yield* git("symbolic-ref", directory, currentBranchCommand, { allowFailure: true })
        return result.exitCode === 0 ? Option.some(result.stdout.trim()) : Option.none()
      })

      const hooksDir = Effect.fn("Git.hooksDir")(function*(directory: string) {
        const result = yield* git("rev-parse", directory, { args: ["rev-parse", "--path-format=absolute", "--git-path", "hooks"] })
        return result.stdout.trim()
      })

      const upstream = Effect.fn("Git.upstream")(function*(directory: string) {
        const result = yield* git("rev-parse", directory, { args: ["rev-parse", "--verify", "--quiet", "@{upstream}^{commit}"] }, { allowFailure: true })
        return result.exitCode === 0 ? Option.some(result.stdout.trim()) : Option.none()
      })

      const isDirty = Effect.fn("Git.isDirty")(function*(directory: string) {
        const result = yield* git("status", directory, isDirtyCommand)
        return result.stdout.trim() !== ""
      })

      const messagesBetween = Effect.fn("Git.messagesBetween")(function*(directory: string, base: string | undefined, head: string) {
        const result = yield* git("log", directory, messagesBetweenCommand(base, head))
        return result.stdout.split("\0").filter((entry) => entry !== "").map((entry) => {
          const newline = entry.indexOf("\n")
          return { sha: entry.slice(0, newline), message: entry.slice(newline + 1) }
        })
      })

      const fileAt = Effect.fn("Git.fileAt")(function*(directory: string, commit: string, path: string) {
        const result = yield* git("cat-file", directory, fileAtCommand(commit, path), { allowFailure: true })
        return result.exitCode === 0 ? Option.some(result.stdout) : Option.none()
      })

      const isAncestor = Effect.fn("Git.isAncestor")(function*(directory: string, ancestor: string, commit: string) {
        const result = yield* git("merge-base", directory, { args: ["merge-base", "--is-ancestor", "--end-of-options", ancestor, commit] }, { allowFailure: true })
        // Exit 1 means "not an ancestor"; anything else is a real failure.
        if (result.exitCode === 0 || result.exitCode === 1) return result.exitCode === 0
        return yield* new GitError({ operation: "merge-base --is-ancestor", directory, detail: result.stderr.trim() })
      })

      const tagsBefore = Effect.fn("Git.tagsBefore")(function*(directory: string, commit: string) {
        // The commit's ancestors in topological order, so the first tag is the nearest
        // (not --simplify-by-decoration: it drops a tagged root commit whose tree is
        // empty). A ref name holds no space, so `, ` splits %D.
        const result = yield* git("log", directory, {
          args: ["log", "--topo-order", "--decorate=short", "--decorate-refs=refs/tags/", "--format=%H%x09%D", `${commit}^@`, "--"]
        }, { allowFailure: true })
        // A root commit has no parents: `commit^@` names nothing, and there is no tag before it.
        if (result.exitCode !== 0) return []
        return lines(result.stdout).flatMap((line) => {
          const [sha = "", decorations = ""] = line.split("\t")
          // One commit's tags by name, so the choice among them does not depend on git's order.
          return decorations.split(", ").filter((name) => name.startsWith("tag: ")).map((name) => name.slice(5)).sort()
            .map((tag) => ({ tag, sha }))
        })
      })

      return Git.of({ inspect, resolveCommits, mergeBase, remoteBranchesContaining, currentBranch, hooksDir, upstream, isDirty, messagesBetween, fileAt, isAncestor, tagsBefore })
    })
  )
}
