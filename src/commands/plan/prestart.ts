import { spawnSync } from "node:child_process"
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { nixIdentity } from "../../effects/nixIdentity.ts"
import {
  currentBranchCommand,
  fileAtCommand,
  gitArgs,
  type GitCommand,
  inspectCommand,
  isDirtyCommand,
  messagesBetweenCommand,
  resolveCommitsCommand
} from "../../effects/gitCommands.ts"
import { defaultMaxOutputBytes } from "../../effects/outputCollector.ts"
import { prestart } from "../../effects/prestarted.ts"
import {
  aboutArgs,
  cacheDirectory,
  cacheEntryServes,
  cacheEntryText,
  cacheKey,
  evaluationArgs,
  evaluationOutput,
  evaluatorOf,
  guessSystem
} from "../../nix/evaluationCommand.ts"
import { flakeLockPath, type FlakeSource } from "../../nix/flakeRef.ts"
import { findNixDir, readNixSources } from "../../nix/nixFiles.ts"
import { headWorkersFor } from "../../nix/workerEvaluations.ts"

/**
 * What `tool plan` starts before the rest of the tool has loaded: head's evaluation (with
 * its actions), and `--base`'s when given, each unless the evaluation cache holds it, the
 * question of Nix's system and version (`aboutArgs`), then the git commands the plan asks
 * first (`gitCommands.ts`: the checkout, its commits, the branch, and with `--base` the
 * history and both flake.locks). It is the first thing `tool plan` runs, from its start-up
 * snapshot (src/cli/snapshot.ts) or from the loader (scripts/build.mjs), given the command
 * line: the tool's own start then runs beside the evaluations instead of before them.
 *
 * It guesses: flags are read as written, the system is Node's guess, the commits are
 * resolved once more by the plan. A process is used only by a run of exactly its command
 * line and input (src/effects/prestarted.ts), so a wrong guess costs the work it started
 * (killed when the tool exits), never a wrong plan. It starts nothing in a deploy build,
 * whose plan evaluates otherwise, and never fails: anything unexpected means no head start.
 */

/**
 * The value of each flag given as `--name value` or `--name=value`; booleans as "true". The
 * booleans are `tool plan`'s (src/commands/plan/flags.ts): one missing here only makes a guess
 * wrong, since its next argument would be read as its value.
 */
const flagValues = (args: ReadonlyArray<string>, booleans: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const values = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[i]!)
    if (match === null) continue
    const [, name, inline] = match
    if (booleans.includes(name!)) values.set(name!, inline ?? "true")
    else if (inline !== undefined) values.set(name!, inline)
    else if (i + 1 < args.length) values.set(name!, args[++i]!)
  }
  return values
}

/** The start of a cache entry, enough to tell whether it holds actions; undefined when there is none. */
const entryStart = (file: string): string | undefined => {
  try {
    const descriptor = openSync(file, "r")
    try {
      const buffer = Buffer.alloc(cacheEntryText(true, null).length)
      return buffer.toString("utf8", 0, readSync(descriptor, buffer))
    } finally {
      closeSync(descriptor)
    }
  } catch {
    return undefined
  }
}

/** The commits' full names, the checkout's top and whether it is shallow, in one git process; undefined when git cannot say. */
const resolveCheckout = (flakePath: string, revs: ReadonlyArray<string>) => {
  // A rev git could take for an option or a second line is left to the plan, which says what is wrong with it.
  if (revs.some((rev) => rev === "" || rev.startsWith("-") || /\s/.test(rev))) return undefined
  const result = spawnSync("git", ["-C", flakePath, "rev-parse", "--show-toplevel", "--is-shallow-repository", ...revs.map((rev) => `${rev}^{commit}`)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"]
  })
  if (result.status !== 0) return undefined
  // One line a rev and nothing else: a range (`a..b`) names two commits, and is the plan's to refuse.
  const [repository, shallow, ...shas] = result.stdout.replace(/\n$/, "").split("\n")
  if (repository === undefined || shas.length !== revs.length || !shas.every((sha) => /^[0-9a-f]{40,64}$/.test(sha))) return undefined
  return { repository, shallow: shallow === "true", shas }
}

/** A commit's full name (SHA-1 or SHA-256): nothing for git to resolve. */
const fullName = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** What changes where git finds a checkout, or whether it is shallow. */
const discoveryVariables = ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_SHALLOW_FILE"]

/**
 * The checkout's top and whether it is shallow, as `git rev-parse --show-toplevel
 * --is-shallow-repository` says them, read from the files git keeps, when every rev is already a
 * full commit name (a CI build's always is): a git process is 5 ms before the evaluations can
 * start. Undefined when the files may not tell it as git would: a variable that changes where
 * git looks, a `.git` file that is not a plain `gitdir:` line. Still a guess (a `core.worktree`
 * is not read), and whether the names are commits is the plan's to check.
 */
export const checkoutFromFiles = (flakePath: string, revs: ReadonlyArray<string>, environment: NodeJS.ProcessEnv) => {
  if (!revs.every((rev) => fullName.test(rev))) return undefined
  if (discoveryVariables.some((name) => environment[name] !== undefined)) return undefined
  try {
    return checkoutAbove(realpathSync(flakePath), revs)
  } catch {
    return undefined
  }
}

/** The first directory from `start` up that holds `.git`, read as git would read it. */
const checkoutAbove = (start: string, revs: ReadonlyArray<string>) => {
  for (let directory = start;; directory = dirname(directory)) {
    const dotGit = join(directory, ".git")
    const found = statSync(dotGit, { throwIfNoEntry: false })
    if (found === undefined) {
      if (dirname(directory) === directory) return undefined
      continue
    }
    // A linked work tree or a submodule: `.git` names the git directory.
    const pointer = found.isDirectory() ? undefined : /^gitdir: (.+?)\r?\n?$/.exec(readFileSync(dotGit, "utf8"))
    if (pointer === null) return undefined
    const gitDir = pointer === undefined ? dotGit : resolve(directory, pointer[1]!)
    // A linked work tree's repository, where a shallow clone's `shallow` file is, is its `commondir`.
    const commonDir = existsSync(join(gitDir, "commondir")) ? resolve(gitDir, readFileSync(join(gitDir, "commondir"), "utf8").trim()) : gitDir
    return { repository: directory, shallow: existsSync(join(commonDir, "shallow")), shas: revs }
  }
}

export const prestartPlan = (args: ReadonlyArray<string>, environment: NodeJS.ProcessEnv = process.env): void => {
  // As the plan reads them (BuildkiteEnvironment): an empty variable is an absent one.
  const variable = (name: string) => environment[name] || undefined
  try {
    // Help starts nothing; the loader prints it without calling this, the snapshot's CLI after.
    if (variable("DENBEIGH_DEPLOY") === "true" || ["--help", "-h"].includes(args.at(-1) ?? "")) return
    const flags = flagValues(args, ["no-cache", "dry-run", "why", "verbose"])
    const system = flags.get("system") ?? guessSystem()
    const nixDir = findNixDir(dirname(fileURLToPath(import.meta.url)), environment.CI_NIX_DIR)
    if (system === undefined || nixDir === undefined) return
    const sources = readNixSources(nixDir)
    const flakePath = resolve(flags.get("flake") ?? ".")
    const base = flags.get("base")
    const headRev = flags.get("head") ?? variable("BUILDKITE_COMMIT") ?? "HEAD"
    const revs = [headRev, ...(base === undefined ? [] : [base])]
    const checkout = checkoutFromFiles(flakePath, revs, environment) ?? resolveCheckout(flakePath, revs)
    if (checkout === undefined) return
    const flakeDir = relative(checkout.repository, flakePath) || "."
    const source = (rev: string): FlakeSource => ({ repository: checkout.repository, flakeDir, rev, shallow: checkout.shallow })
    const cached = flags.get("no-cache") === "true" ? undefined : {
      directory: cacheDirectory(environment.XDG_CACHE_HOME, homedir()),
      evaluator: evaluatorOf(sources),
      identity: nixIdentity(environment.PATH ?? "")
    }
    const [head, ...bases] = checkout.shas.map(source)
    // Without a Nix to key by, the plan asks Nix its version: nothing to start before that.
    if (cached !== undefined && cached.identity === undefined) return
    const isCached = (evaluated: FlakeSource, withActions: boolean) => {
      if (cached === undefined) return false
      return cacheEntryServes(entryStart(join(cached.directory, `${cacheKey(evaluated, system, cached.evaluator, cached.identity!)}.json`)), withActions)
    }
    const toEvaluate = [[head!, true] as const, ...bases.map((evaluated) => [evaluated, false] as const)].filter(([evaluated, withActions]) => !isCached(evaluated, withActions))
    // The head's workers as the plan decides them (headWorkers, evaluation.ts); a base has one.
    const headWorkers = headWorkersFor(toEvaluate.some(([, withActions]) => !withActions), environment.CI_EVAL_WORKERS)
    for (const [evaluated, withActions] of toEvaluate) {
      const workers = withActions ? headWorkers : 1
      for (let worker = 0; worker < workers; worker++) {
        prestart("nix", evaluationArgs(sources, { source: evaluated, system, withActions, skip: [], worker, workers }), {
          limit: defaultMaxOutputBytes,
          ...evaluationOutput
        })
      }
    }
    // What the plan asks Nix meanwhile, and would otherwise wait for once it has loaded.
    prestart("nix", aboutArgs, { limit: defaultMaxOutputBytes })
    // What it asks git first (src/commands/plan/checkout.ts, ciMode.ts), each as it will ask.
    const git = (directory: string, command: GitCommand) => prestart("git", gitArgs(directory, command.args), { limit: defaultMaxOutputBytes, stdin: command.stdin })
    git(flakePath, inspectCommand)
    git(flakePath, resolveCommitsCommand([headRev, `${headRev}^`, ...(base === undefined ? [] : [base])]))
    const [headSha, baseSha] = checkout.shas
    if (baseSha !== undefined) {
      const lockPath = flakeLockPath(flakeDir)
      git(checkout.repository, messagesBetweenCommand(baseSha, headSha!))
      git(checkout.repository, fileAtCommand(baseSha, lockPath))
      git(checkout.repository, fileAtCommand(headSha!, lockPath))
    }
    if (flags.get("branch") === undefined && variable("BUILDKITE_BRANCH") === undefined) git(checkout.repository, currentBranchCommand)
    if (variable("BUILDKITE") !== "true" && flags.get("head") === undefined) git(checkout.repository, isDirtyCommand)
  } catch {
    // No head start, and the plan says what is wrong, if anything is.
  }
}
