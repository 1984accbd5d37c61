import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nodeBinary, stubBin, toolArgs } from "./paths.ts"

/**
 * The bundled CLI on a real pseudo-terminal (python3's pty module, as `script`
 * would): what a person at a terminal sees, escape sequences and all. `input` is
 * typed at the terminal.
 */
export const runOnTerminal = (
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env?: Readonly<Record<string, string>>
    readonly input?: string
    /** The terminal's width (default: the pty's, 80 here). */
    readonly columns?: number
  }
): { readonly exitCode: number; readonly output: string } => {
  // Copy the child's output, answer once it asks (a prompt ends with "[y/N]"), exit as it does.
  const driver = `
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    columns = int(os.environ.pop("CI_TEST_COLUMNS", "0"))
    if columns > 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
answer = os.environ.get("CI_TEST_TYPED", "").encode()
seen = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    sys.stdout.buffer.write(chunk)
    if answer and seen.rstrip().endswith(b"[y/N]"):
        os.write(fd, answer)
        answer = b""
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(BUILDKITE|NO_COLOR$)/.test(key)))
  const result = spawnSync("/usr/bin/python3", ["-c", driver, nodeBinary, ...toolArgs(args)], {
    cwd: options.cwd,
    encoding: "utf8",
    env: {
      ...inherited,
      TERM: "xterm-256color",
      PATH: `${stubBin}:${process.env.PATH}`,
      CI_TEST_AGENT_LOG: join(mkdtempSync(join(tmpdir(), "ci-agent-")), "calls.jsonl"),
      CI_TEST_TYPED: options.input ?? "",
      CI_TEST_COLUMNS: String(options.columns ?? 0),
      ...options.env
    },
    maxBuffer: 64 * 1024 * 1024
  })
  if (result.error !== undefined) throw result.error
  return { exitCode: result.status ?? -1, output: result.stdout }
}
