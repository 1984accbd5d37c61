/**
 * A system's build set split into shards, each a `tool build` step of its own, so
 * that no derivation is built by two steps: every derivation to build belongs to the
 * targets that need it, and targets that share one (directly, or through derivations
 * only they need) stay in one shard. Such connected sets are balanced across shards by
 * how many derivations each builds, largest first into the least loaded. Pure and
 * deterministic: the same input gives the same shards in the same order.
 */

export interface ShardTarget {
  /** The target's key (its attribute path, as shown). */
  readonly key: string
  /** The store derivations it builds; none when it did not evaluate. */
  readonly drvPaths: ReadonlyArray<string>
}

export interface Shard {
  /** Its targets' keys, in the order they were given. */
  readonly targets: ReadonlyArray<string>
  /** The derivations it builds (those it finds in the store or a cache left out), sorted. */
  readonly derivations: ReadonlyArray<string>
  /** One set of derivations connected by dependencies, larger than the limit: kept whole. */
  readonly oversized: boolean
}

/**
 * Split `targets` into shards of at most `limit` derivations to build, when they hold
 * more. `toBuild` is every derivation the targets need built, each with its inputs (any:
 * those not to build are ignored). A target that builds nothing still belongs to a shard,
 * which reports it.
 */
export const splitBuilds = (
  targets: ReadonlyArray<ShardTarget>,
  toBuild: ReadonlyMap<string, ReadonlyArray<string>>,
  limit: number
): ReadonlyArray<Shard> => {
  // Union-find over the derivations to build, and a node of its own per target.
  const parent = new Map<string, string>()
  const find = (node: string): string => {
    let root = node
    while (parent.get(root) !== root) root = parent.get(root)!
    for (let at = node; at !== root;) {
      const next = parent.get(at)!
      parent.set(at, root)
      at = next
    }
    return root
  }
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)]
    // The smaller name roots, so the result does not depend on the order of unions.
    if (ra !== rb) ra < rb ? parent.set(rb, ra) : parent.set(ra, rb)
  }
  for (const drvPath of toBuild.keys()) parent.set(drvPath, drvPath)
  for (const [drvPath, inputs] of toBuild) for (const input of inputs) if (toBuild.has(input)) union(drvPath, input)
  const targetNode = (index: number) => `\0target ${index}`
  targets.forEach((target, index) => {
    parent.set(targetNode(index), targetNode(index))
    for (const drvPath of target.drvPaths) if (toBuild.has(drvPath)) union(targetNode(index), drvPath)
  })

  // Connected sets with at least one target, in the order of their first target.
  const components = new Map<string, { first: number; targets: Array<number>; derivations: Array<string> }>()
  targets.forEach((_, index) => {
    const root = find(targetNode(index))
    const component = components.get(root) ?? { first: index, targets: [], derivations: [] }
    component.targets.push(index)
    components.set(root, component)
  })
  for (const drvPath of toBuild.keys()) components.get(find(drvPath))?.derivations.push(drvPath)
  const sets = [...components.values()]
  const total = sets.reduce((sum, set) => sum + set.derivations.length, 0)

  const shardOf = (members: ReadonlyArray<typeof sets[number]>): Shard => {
    const derivations = members.flatMap((set) => set.derivations).sort()
    return {
      targets: members.flatMap((set) => set.targets).sort((a, b) => a - b).map((index) => targets[index]!.key),
      derivations,
      oversized: derivations.length > limit
    }
  }
  if (total <= limit || sets.length < 2) return targets.length === 0 ? [] : [shardOf(sets)]

  // Largest first (ties: the flake's order) into the least loaded shard (ties: the first).
  const ordered = [...sets].sort((a, b) => b.derivations.length - a.derivations.length || a.first - b.first)
  for (let count = Math.ceil(total / limit); ; count++) {
    const bins = Array.from({ length: count }, () => ({ load: 0, sets: [] as Array<typeof sets[number]> }))
    for (const set of ordered) {
      const bin = bins.reduce((least, candidate) => (candidate.load < least.load ? candidate : least))
      bin.sets.push(set)
      bin.load += set.derivations.length
    }
    // Over the limit only where one connected set alone is: else one more shard.
    if (count < sets.length && bins.some((bin) => bin.load > limit && bin.sets.length > 1)) continue
    const first = (bin: typeof bins[number]) => Math.min(...bin.sets.map((set) => set.first))
    return bins
      .filter((bin) => bin.sets.length > 0)
      .sort((a, b) => first(a) - first(b))
      .map((bin) => shardOf(bin.sets))
  }
}
