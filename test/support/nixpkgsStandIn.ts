import { cpSync, existsSync, mkdtempSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { repoRoot } from "./paths.ts"

/** The program's real path, from the first directory of `path` that has it. */
const which = (program: string, path = process.env.PATH ?? ""): string | undefined => {
  const found = path.split(":").map((dir) => join(dir, program)).find(isFile)
  return found === undefined ? undefined : realpathSync(found)
}
const isFile = (file: string) => existsSync(file) && statSync(file).isFile()

// What nixpkgs' stdenv puts on a build's PATH (coreutils, findutils, diffutils, gnused,
// gnugrep, gawk, gnutar, gzip, bzip2, xz, gnumake, patch, bash), as far as the host has them.
const stdenvPrograms = [
  ...["b2sum", "base32", "base64", "basename", "basenc", "cat", "chgrp", "chmod", "chown", "cksum", "comm", "cp"],
  ...["csplit", "cut", "date", "dd", "df", "dir", "dircolors", "dirname", "du", "echo", "env", "expand", "expr"],
  ...["factor", "false", "fmt", "fold", "head", "hostid", "id", "install", "join", "link", "ln", "logname", "ls"],
  ...["md5sum", "mkdir", "mkfifo", "mknod", "mktemp", "mv", "nice", "nl", "nohup", "nproc", "numfmt", "od", "paste"],
  ...["pathchk", "pr", "printenv", "printf", "ptx", "pwd", "readlink", "realpath", "rm", "rmdir", "seq", "sha1sum"],
  ...["sha224sum", "sha256sum", "sha384sum", "sha512sum", "shred", "shuf", "sleep", "sort", "split", "stat", "stty"],
  ...["sum", "sync", "tac", "tail", "tee", "test", "timeout", "touch", "tr", "true", "truncate", "tsort", "tty"],
  ...["uname", "unexpand", "uniq", "unlink", "vdir", "wc", "whoami", "yes"],
  ...["find", "xargs", "diff", "cmp", "sed", "grep", "awk", "tar", "gzip", "gunzip", "bzip2", "xz", "make", "patch"],
  ...["bash", "sh"]
]

/**
 * A copy of test/nixpkgs-stand-in, told where this machine's programs are: a
 * `path:` flake to pass as `--override-input nixpkgs`. With a `nonce`, every
 * derivation it makes is new to the store, so the tool built with it is built
 * from nothing.
 */
export const nixpkgsStandIn = (options: { readonly nonce?: string } = {}): string => {
  const dir = join(mkdtempSync(join(tmpdir(), "ci-nixpkgs-stand-in-")), "nixpkgs")
  cpSync(join(repoRoot, "test/nixpkgs-stand-in"), dir, { recursive: true })
  const nix = which("nix")!
  // nix, nix-store, nix-build...: Nix's programs are one program under several names.
  const nixNames = readdirSync(dirname(nix)).filter((name) => name.startsWith("nix") && which(name, dirname(nix)) === nix)
  const found = (names: ReadonlyArray<string>, path: string) =>
    Object.fromEntries(names.flatMap((name) => {
      const file = which(name, path)
      return file === undefined ? [] : [[name, file]]
    }))
  writeFileSync(
    join(dir, "host.json"),
    JSON.stringify({
      bash: which("bash")!,
      // The system's own, whatever else is on this process's PATH.
      stdenvPrograms: found(stdenvPrograms, "/usr/bin:/bin"),
      node: realpathSync(join(repoRoot, "node_modules/node/bin/node")),
      git: which("git")!,
      nixPrograms: Object.fromEntries(nixNames.map((name) => [name, nix])),
      ...(options.nonce === undefined ? {} : { nonce: options.nonce })
    }, null, 2)
  )
  return dir
}
