import { Option, Schema } from "effect"
import { createHash } from "node:crypto"

/**
 * `flake.lock`, for which inputs a commit updated and where each one's source is
 * in the store. A locked input is fetched as a content-addressed path named
 * `source` whose hash is its `narHash`, so the path follows from the lock alone,
 * with no evaluation and no fetching.
 */

export interface LockedInput {
  /** The locked revision, for inputs that have one (git, github). */
  readonly rev: string | null
  /** Where the input's source is in the store. */
  readonly storePath: string
}

/** A flake input whose lock differs between base and head. */
export interface FlakeInputChange {
  /** The lock's node name: the input's name (`nixpkgs`), or with a suffix for a second one (`nixpkgs_2`). */
  readonly name: string
  /** Null when the input is not in that lock. */
  readonly base: LockedInput | null
  readonly head: LockedInput | null
}

const FlakeLock = Schema.Struct({
  root: Schema.String,
  nodes: Schema.Record(
    Schema.String,
    Schema.Struct({
      locked: Schema.optionalKey(Schema.Struct({ narHash: Schema.optionalKey(Schema.String), rev: Schema.optionalKey(Schema.String) }))
    })
  )
})
const decodeLock = Schema.decodeUnknownOption(Schema.fromJsonString(FlakeLock))

// Nix's base-32 alphabet (no e, o, u, t) and byte order (libutil/hash.cc).
const base32Alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
const nixBase32 = (bytes: Uint8Array): string => {
  const length = Math.ceil((bytes.length * 8) / 5)
  let text = ""
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5
    const i = Math.floor(bit / 8)
    const j = bit % 8
    const value = (bytes[i]! >> j) | (i + 1 < bytes.length ? bytes[i + 1]! << (8 - j) : 0)
    text += base32Alphabet[value & 0x1f]
  }
  return text
}

/**
 * The store path of a source added recursively with this NAR hash, under the name
 * `source`: Nix's `makeFixedOutputPath` for a recursive SHA-256 with no references.
 */
export const sourceStorePath = (storeDir: string, narHash: string): string | undefined => {
  const sri = /^sha256-([A-Za-z0-9+/=]+)$/.exec(narHash)
  if (sri === null) return undefined
  const digest = Buffer.from(sri[1]!, "base64")
  if (digest.length !== 32) return undefined
  const fingerprint = `source:sha256:${digest.toString("hex")}:${storeDir}:source`
  const full = createHash("sha256").update(fingerprint).digest()
  const compressed = new Uint8Array(20)
  full.forEach((byte, index) => (compressed[index % 20]! ^= byte))
  return `${storeDir}/${nixBase32(compressed)}-source`
}

/** Every locked input of a lock file by node name; none when the text is not a lock file. */
export const lockedInputs = (text: string, storeDir: string): Option.Option<ReadonlyMap<string, LockedInput>> =>
  Option.map(decodeLock(text), (lock) => {
    const inputs = new Map<string, LockedInput>()
    for (const [name, node] of Object.entries(lock.nodes)) {
      const storePath = name === lock.root || node.locked?.narHash === undefined ? undefined : sourceStorePath(storeDir, node.locked.narHash)
      if (storePath !== undefined) inputs.set(name, { rev: node.locked?.rev ?? null, storePath })
    }
    return inputs
  })

/** The inputs whose locked source differs between two lock files (either may be missing or unreadable). */
export const flakeInputChanges = (
  base: string | undefined,
  head: string | undefined,
  storeDir: string
): ReadonlyArray<FlakeInputChange> => {
  const read = (text: string | undefined) =>
    text === undefined ? new Map<string, LockedInput>() : Option.getOrElse(lockedInputs(text, storeDir), () => new Map<string, LockedInput>())
  const before = read(base)
  const after = read(head)
  return [...new Set([...before.keys(), ...after.keys()])].sort().flatMap((name) => {
    const was = before.get(name) ?? null
    const is = after.get(name) ?? null
    return was?.storePath === is?.storePath ? [] : [{ name, base: was, head: is }]
  })
}
