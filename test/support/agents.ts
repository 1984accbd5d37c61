import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

/**
 * Further agents on this machine: the same tool with an empty Nix store of its own
 * (a private mount namespace whose /nix is a new directory), and the binary cache's
 * signing keys. `scratch` is the test's directory, which keeps both.
 */

/** A signing key pair named `name`: the secret's file and the public key. */
export const keyPair = (scratch: string, name: string) => {
  const dir = join(scratch, name)
  mkdirSync(dir)
  execFileSync("nix-store", ["--generate-binary-cache-key", name, join(dir, "secret"), join(dir, "public")])
  return { secretFile: join(dir, "secret"), publicKey: readFileSync(join(dir, "public"), "utf8").trim() }
}

/** The command an agent of its own runs the tool under: an empty store, kept in a new directory. */
export const otherAgent = (scratch: string, name: string): ReadonlyArray<string> => {
  const store = join(scratch, `store-${name}`)
  mkdirSync(store)
  // Mounts stay private to the namespace; in a chroot (scripts/with-nix current), whose root
  // is no mount point, they already are, and unshare cannot make them so itself.
  return [
    "unshare",
    "--mount",
    "--propagation",
    "unchanged",
    "--",
    "sh",
    "-c",
    "mount --make-rprivate / 2>/dev/null; mkdir -p /nix && mount --bind \"$0\" /nix && exec \"$@\"",
    store
  ]
}
