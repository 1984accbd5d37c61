import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { fixtureFlake, FixtureRepo } from "../support/fixtureRepo.ts"
import { checkoutFromFiles, prestartPlan } from "../../src/commands/plan/prestart.ts"
import {
  currentBranchCommand,
  fileAtCommand,
  gitArgs,
  type GitCommand,
  inspectCommand,
  isDirtyCommand,
  messagesBetweenCommand,
  resolveCommitsCommand
} from "../../src/effects/gitCommands.ts"
import { takePrestarted } from "../../src/effects/prestarted.ts"
import { workersFor } from "../../src/nix/workerEvaluations.ts"
import { repoRoot, stubBin } from "../support/paths.ts"
import { runTool } from "../support/tool.ts"
import { isRunning } from "../support/processes.ts"

/**
 * `tool plan` starts head's evaluation (and `--base`'s) before the rest of the tool loads
 * (src/commands/plan/prestart.ts), and the plan takes those processes over: each commit is
 * still evaluated once, nothing the cache holds is started, and a guess the plan does not
 * use is left to end with the tool. Real git and nix, behind wrappers that log each call.
 */

const salt = `${Date.now()}-${process.pid}`
// Packages for this machine's system and for one its Nix can be told it is, and actions for both.
const flakeAt = (version: string) =>
  fixtureFlake({
    outputs: `
      packages = builtins.listToAttrs (map (name: {
        inherit name;
        value = {
          lib = drv "lib" [ "${version}" "${salt}" name ];
          other = drv "other" [ "1" "${salt}" name ];
        };
      }) [ "x86_64-linux" "aarch64-linux" ]);`,
    ciActions: `ci.lib.mkActions {
        inherit self;
        systems = [ "x86_64-linux" "aarch64-linux" ];
        actions = { system }: { release.conditions = [ { changed = [ self.packages.\${system}.lib ]; } ]; };
      }`
  })

interface Call {
  readonly pid: number
  readonly args: ReadonlyArray<string>
}

/**
 * `nix` and `git` that log each call (its process id and its arguments; of a long one, an
 * evaluation's expression, only what names the evaluation) and run the real one.
 */
const loggingPath = () => {
  const bin = mkdtempSync(join(tmpdir(), "ci-prestart-bin-"))
  const log = join(bin, "calls.log")
  for (const program of ["nix", "git"]) {
    const real = execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim()
    writeFileSync(
      join(bin, program),
      `#!/bin/sh
line="$$ ${program}"
for arg in "$@"; do [ \${#arg} -le 100 ] && line="$line $arg"; done
echo "$line" >> ${log}
# Of an evaluation, what its expression names (the commit, actions or not, the worker), logged
# after the call so that the call's place in the log is where it started.
for arg in "$@"; do
  case "$arg" in *"withActions = "*)
    echo "$$ $(printf '%s' "$arg" | grep -o -e 'rev=[0-9a-f]*' -e 'withActions = [a-z]*' -e 'worker = [0-9]*' -e 'workers = [0-9]*' | sed 's/ = /=/' | tr '\\n' ' ')" >> ${log}.evaluations
  esac
done
exec ${real} "$@"
`
    )
    chmodSync(join(bin, program), 0o755)
  }
  return {
    path: `${bin}:${stubBin}:${process.env.PATH}`,
    calls: (): ReadonlyArray<Call> =>
      readFileSync(log, { encoding: "utf8", flag: "a+" }).split("\n").filter((line) => line !== "").map((line) => {
        const [pid, ...args] = line.split(" ")
        return { pid: Number(pid), args }
      }),
    /** What each evaluation's expression names, by process id. */
    evaluations: (): ReadonlyMap<number, string> =>
      new Map(
        readFileSync(`${log}.evaluations`, { encoding: "utf8", flag: "a+" }).split("\n").filter((line) => line !== "").map((line) => {
          const [pid, ...names] = line.trim().split(" ")
          return [Number(pid), names.join(" ")] as const
        })
      ),
    reset: () => {
      writeFileSync(log, "")
      writeFileSync(`${log}.evaluations`, "")
    }
  }
}

const isEvaluation = (call: Call) => call.args.join(" ").startsWith("nix --extra-experimental-features nix-command flakes eval --json --show-trace")

// Which evaluation each call is: the commit, with actions or not, which worker of how many.
const evaluationsIn = (logging: ReturnType<typeof loggingPath>) => {
  const named = logging.evaluations()
  return logging.calls().filter(isEvaluation).map((call) => named.get(call.pid) ?? `process ${call.pid} not named`)
}

// The cores a head has to itself when it is evaluated alone, and beside a base (\`workersFor\`, as the tool decides).
const alone = workersFor(1, undefined)
const besideBase = workersFor(2, undefined)

describe("tool plan: evaluations started before the tool loads", () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"))
  const first = repo.commit("first", { "flake.nix": flakeAt("1") })
  const second = repo.commit("second", { "flake.nix": flakeAt("2") })
  const third = repo.commit("third", { "flake.nix": flakeAt("3") })

  // `--system`: this machine's only, unless a test says otherwise (the flake declares two).
  const plan = (
    args: ReadonlyArray<string>,
    env: Record<string, string>,
    system: ReadonlyArray<string> = ["--system", "x86_64-linux"],
    fromLoader = false
  ) => {
    const run = runTool(["plan", "--dry-run", "--format", "json", ...system, ...args], { cwd: repo.dir, env, fromLoader })
    assert.strictEqual(run.exitCode, 0, run.stderr)
    return JSON.parse(run.stdout) as { readonly system: string; readonly changed: ReadonlyArray<{ readonly attrPath: string }> }
  }

  it.each([["its snapshot", false], ["the loader", true]])("evaluates head and base once each, and asks git each of the plan's questions once, started from %s", (_, fromLoader) => {
    const logging = loggingPath()
    const planned = plan(["--no-cache", "--base", first, "--head", second], { PATH: logging.path }, undefined, fromLoader)
    assert.deepStrictEqual(planned.changed.map((output) => output.attrPath), ["packages.x86_64-linux.lib"])
    const calls = logging.calls()
    const shown = calls.map((call) => call.args.join(" ")).join("\n")
    // The head by the workers the cores it shares with the base allow, the base by one.
    assert.deepStrictEqual(evaluationsIn(logging).sort(), [
      `rev=${first} withActions=false worker=0 workers=1`,
      ...Array.from({ length: besideBase }, (_, worker) => `rev=${second} withActions=true worker=${worker} workers=${besideBase}`)
    ].sort(), shown)
    // Each is started by the head start and taken over by the plan: a plan that started its own would ask twice.
    const times = (command: string) => calls.filter((call) => call.args.join(" ") === `git -C ${repo.dir} ${command}`).length
    for (
      const command of [
        "rev-parse --show-toplevel --is-shallow-repository",
        "cat-file --batch-check=%(objectname)",
        `log -z --format=%H%n%B --max-count=1000 ${first}..${second} --`,
        `cat-file blob ${first}:flake.lock`,
        `cat-file blob ${second}:flake.lock`,
        "symbolic-ref --quiet --short HEAD"
      ]
    ) assert.strictEqual(times(command), 1, `git ${command}:\n${shown}`)
    // Full commit names need no git: the evaluations start first.
    assert.isTrue(isEvaluation(calls[0]!), shown)
  })

  // The head start in this process, with a `nix` that does nothing: which git commands it starts.
  const stubNix = mkdtempSync(join(tmpdir(), "ci-prestart-nix-"))
  writeFileSync(join(stubNix, "nix"), "#!/bin/sh\nexit 0\n", { mode: 0o755 })
  const prestartHere = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
    const path = process.env.PATH
    process.env.PATH = `${stubNix}:${path}`
    try {
      prestartPlan(["--dry-run", "--no-cache", "--flake", repo.dir, ...args], { PATH: process.env.PATH, CI_NIX_DIR: `${repoRoot}nix`, ...env })
    } finally {
      process.env.PATH = path
    }
  }
  const take = (command: GitCommand) => takePrestarted("git", gitArgs(repo.dir, command.args), { stdin: command.stdin })

  it("starts the git commands the plan asks first, each exactly as the plan asks it", async () => {
    prestartHere(["--base", first, "--head", second])
    for (
      const command of [
        inspectCommand,
        resolveCommitsCommand([second, `${second}^`, first]),
        messagesBetweenCommand(first, second),
        fileAtCommand(first, "flake.lock"),
        fileAtCommand(second, "flake.lock"),
        currentBranchCommand
      ]
    ) {
      const taken = take(command)
      assert.isDefined(taken, `git ${command.args.join(" ")} was not started`)
      assert.strictEqual((await taken.finished)?.exitCode, 0, `git ${command.args.join(" ")}`)
    }
  })

  it("starts no git command the plan will not ask", () => {
    // In Buildkite, with the branch given and no --base: the branch, the tree and the history are not asked.
    prestartHere([], { BUILDKITE: "true", BUILDKITE_BRANCH: "master", BUILDKITE_COMMIT: second })
    assert.isDefined(take(inspectCommand))
    assert.isDefined(take(resolveCommitsCommand([second, `${second}^`])))
    assert.isUndefined(take(currentBranchCommand))
    assert.isUndefined(take(isDirtyCommand))
    assert.isUndefined(take(messagesBetweenCommand(undefined, second)))

    // On a laptop without --head the tree is asked about; with --branch the branch is not.
    prestartHere(["--branch", "master"])
    assert.isDefined(take(inspectCommand))
    assert.isDefined(take(resolveCommitsCommand(["HEAD", "HEAD^"])))
    assert.isDefined(take(isDirtyCommand))
    assert.isUndefined(take(currentBranchCommand))

    // Nothing at all for help, nor for a head that is a range rather than a commit.
    prestartHere(["--head", second, "--help"])
    prestartHere(["--head", `${first}..${second}`])
    assert.isUndefined(take(inspectCommand))
  })

  it("starts nothing the evaluation cache holds, and starts head when the cache has it only as a base", () => {
    const logging = loggingPath()
    const env = { PATH: logging.path, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "ci-prestart-cache-")) }
    plan(["--base", first, "--head", second], env)
    assert.strictEqual(logging.calls().filter(isEvaluation).length, 2)

    logging.reset()
    plan(["--base", first, "--head", second], env)
    assert.deepStrictEqual(logging.calls().filter(isEvaluation), [], "both commits are in the cache")

    // `first` is cached without its actions, which a head needs; `second` with them, which a base can use.
    logging.reset()
    const planned = plan(["--base", second, "--head", first], env)
    assert.deepStrictEqual(planned.changed.map((output) => output.attrPath), ["packages.x86_64-linux.lib"])
    // Head's, started as a head's (with actions), by as many workers as it has cores to itself.
    assert.deepStrictEqual(
      evaluationsIn(logging),
      Array.from({ length: alone }, (_, worker) => `rev=${first} withActions=true worker=${worker} workers=${alone}`)
    )
  })

  it("evaluates a head by CI_EVAL_WORKERS workers, each started before the tool loads and taken over by the plan", () => {
    const logging = loggingPath()
    const env = { PATH: logging.path, XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), "ci-prestart-cache-")), CI_EVAL_WORKERS: "3" }
    const planned = plan(["--base", first, "--head", second], env)
    assert.deepStrictEqual(planned.changed.map((output) => output.attrPath), ["packages.x86_64-linux.lib"])
    const calls = logging.calls()
    assert.deepStrictEqual(evaluationsIn(logging).sort(), [
      `rev=${first} withActions=false worker=0 workers=1`,
      ...[0, 1, 2].map((worker) => `rev=${second} withActions=true worker=${worker} workers=3`)
    ].sort(), calls.map((call) => call.args.join(" ")).join("\n"))
    // The same plan by one worker is the same plan.
    assert.deepStrictEqual(plan(["--no-cache", "--base", first, "--head", second], { CI_EVAL_WORKERS: "1" }), planned)
  })

  it("refuses a CI_EVAL_WORKERS that is not a number of workers, naming it: exit 2", () => {
    const run = runTool(["plan", "--dry-run", "--system", "x86_64-linux", "--no-cache", "--base", first, "--head", second], {
      cwd: repo.dir,
      env: { CI_EVAL_WORKERS: "many" }
    })
    assert.strictEqual(run.exitCode, 2, run.stderr)
    assert.include(run.stderr, `error: CI_EVAL_WORKERS: expected a whole number of workers from 1 to 64, got "many"`)
  })

  it("plans for Nix's own system when Node's guess was wrong, and leaves no evaluation running", () => {
    const logging = loggingPath()
    const planned = plan(["--no-cache", "--base", second, "--head", third], {
      PATH: logging.path,
      NIX_CONFIG: `${process.env.NIX_CONFIG ?? ""}\nsystem = aarch64-linux`
    }, [])
    assert.strictEqual(planned.system, "aarch64-linux")
    const evaluations = logging.calls().filter(isEvaluation)
    assert.isAtLeast(evaluations.length, 2)
    assert.deepStrictEqual(evaluations.filter((call) => isRunning(call.pid)), [])
  })

  describe("the checkout, read from git's files when the commits are full names", () => {
    const gitSays = (directory: string) => {
      const [toplevel = "", shallow] = execFileSync("git", ["-C", directory, "rev-parse", "--show-toplevel", "--is-shallow-repository"], { encoding: "utf8" }).trim().split("\n")
      return { repository: toplevel, shallow: shallow === "true" }
    }
    const scratch = mkdtempSync(join(tmpdir(), "ci-prestart-checkouts-"))
    const clone = (name: string, ...flags: ReadonlyArray<string>) => {
      const target = join(scratch, name)
      execFileSync("git", ["clone", "--quiet", ...flags, `file://${repo.dir}`, target])
      return target
    }
    const shallowClone = clone("shallow", "--depth", "1")
    const linked = (from: string, name: string) => {
      const target = join(scratch, name)
      execFileSync("git", ["-C", from, "worktree", "add", "--quiet", "--detach", target])
      return target
    }
    mkdirSync(join(repo.dir, "sub", "deeper"), { recursive: true })
    symlinkSync(repo.dir, join(scratch, "link"))

    it.each([
      ["the checkout's top", () => repo.dir],
      ["a directory below it", () => join(repo.dir, "sub", "deeper")],
      ["a path through a symbolic link", () => join(scratch, "link", "sub")],
      ["a linked work tree", () => linked(repo.dir, "linked")],
      ["a shallow clone", () => shallowClone],
      ["a linked work tree of a shallow clone", () => linked(shallowClone, "shallow-linked")]
    ])("is what git says, from %s", (_, directory) => {
      const at = directory()
      assert.deepStrictEqual(checkoutFromFiles(at, [second], {}), { ...gitSays(at), shas: [second] })
    })

    it("is left to git for a name git must resolve, a variable that moves the checkout, or no checkout at all", () => {
      assert.isUndefined(checkoutFromFiles(repo.dir, [second, "HEAD"], {}))
      assert.isUndefined(checkoutFromFiles(repo.dir, [second.slice(0, 12)], {}))
      assert.isUndefined(checkoutFromFiles(repo.dir, [second], { GIT_DIR: join(repo.dir, ".git") }))
      assert.isUndefined(checkoutFromFiles(mkdtempSync(join(tmpdir(), "ci-no-checkout-")), [second], {}))
    })
  })
})
