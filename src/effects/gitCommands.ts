/**
 * Command lines of `Git` (src/effects/Git.ts), as plain functions without effect: the plan's
 * head start (src/commands/plan/prestart.ts) starts the ones a plan asks first before the tool
 * has loaded, and a prestarted process is taken over only by a run of exactly its command line
 * and input. One definition keeps the two the same.
 */

export interface GitCommand {
  /** After `-C directory` (`gitArgs`). */
  readonly args: ReadonlyArray<string>
  readonly stdin?: string
}

/** git's arguments for a command run in `directory`. */
export const gitArgs = (directory: string, args: ReadonlyArray<string>): ReadonlyArray<string> => ["-C", directory, ...args]

export const inspectCommand: GitCommand = { args: ["rev-parse", "--show-toplevel", "--is-shallow-repository"] }

/** One name a line, each as a commit; a rev with a line break could smuggle a second name into the batch. */
export const resolveCommitsCommand = (revs: ReadonlyArray<string>): GitCommand => ({
  args: ["cat-file", "--batch-check=%(objectname)"],
  stdin: revs.map((rev) => (/[\n\r]/.test(rev) ? "\0invalid\n" : `${rev}^{commit}\n`)).join("")
})

export const currentBranchCommand: GitCommand = { args: ["symbolic-ref", "--quiet", "--short", "HEAD"] }

export const isDirtyCommand: GitCommand = { args: ["status", "--porcelain", "--untracked-files=no"] }

/** -z ends each commit with a NUL, which no message holds. */
export const messagesBetweenCommand = (base: string | undefined, head: string): GitCommand => ({
  args: ["log", "-z", "--format=%H%n%B", ...(base === undefined ? ["--max-count=1", head] : ["--max-count=1000", `${base}..${head}`]), "--"]
})

export const fileAtCommand = (commit: string, path: string): GitCommand => ({ args: ["cat-file", "blob", `${commit}:${path}`] })
