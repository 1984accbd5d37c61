/**
 * bench/shards: what splitting a build set into shards adds to `tool plan`, against
 * reading the same derivations with one `nix derivation show` (`nix show-derivation`
 * before Nix 2.15), the cheapest way Nix itself offers to look at them. For each SIZE:
 * SIZE derivations not yet built, in groups of six (a library and five packages using
 * it, one through another), the packages the build set. Timed in this process, as the
 * plan runs it: `shardBuilds` (`nix build --dry-run`, each `.drv` read and parsed, then
 * `splitBuilds`), and `splitBuilds` alone. Rounds alternate; medians compared. A SIZE
 * within the limit (200) measures what every plan with a small build set pays: its
 * closure read from the `.drv` files, and no Nix process.
 *
 *   node bench/shards.ts [SIZE ...]      (default 600 5000; BENCH_ROUNDS=3)
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { shardBuilds } from "../src/commands/plan/shards.ts"
import { Process } from "../src/effects/Process.ts"
import { Derivations } from "../src/nix/Derivations.ts"
import { Nix } from "../src/nix/Nix.ts"
import { atLeast, parseNixVersion } from "../src/nix/version.ts"
import { splitBuilds } from "../src/plan/shards.ts"
import { median, nixArgs, rounds, timed } from "./benchFlake.ts"

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [600, 5000]
const scratch = mkdtempSync(join(tmpdir(), "ci-bench-shards-"))
const salt = `${Date.now()}-${process.pid}`

// Nix once, as a plan has it; `Derivations` afresh for each run, as each plan starts with none read.
const runtime = ManagedRuntime.make(Nix.layer.pipe(Layer.provide(Process.layer), Layer.provideMerge(NodeServices.layer)))

const version = parseNixVersion(execFileSync("nix", ["--version"], { encoding: "utf8" }))
const show = version !== undefined && atLeast(version, 2, 15) ? ["derivation", "show"] : ["show-derivation"]

try {
  for (const size of sizes) {
    const groups = Math.floor(size / 6)
    const file = join(scratch, `groups-${size}.nix`)
    writeFileSync(file, `
      let
        sh = name: script: builtins.derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" script ]; };
        group = g: let
          lib = sh "lib-\${g}" "echo ${salt} > $out";
          pkg = k: dep: sh "p-\${g}-\${k}" "echo \${dep} > $out";
          first = pkg "0" lib;
        in [ { name = "p-\${g}-0"; value = first; } { name = "p-\${g}-1"; value = pkg "1" first; } ]
          ++ map (k: { name = "p-\${g}-\${k}"; value = pkg k lib; }) [ "2" "3" "4" ];
      in builtins.listToAttrs (builtins.concatLists (builtins.genList (g: group (toString g)) ${groups}))
    `)
    const names = Array.from({ length: groups }, (_, g) => [0, 1, 2, 3, 4].map((k) => `p-${g}-${k}`)).flat()
    const drvs = execFileSync("nix-instantiate", [file, ...names.flatMap((name) => ["-A", name])], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 * 1024 * 1024
    }).split("\n").filter((line) => line !== "")
    const outputs = names.map((name, i) => ({ attrPath: ["packages", "x86_64-linux", name], kind: "packages" as const, storePath: null, drvPath: drvs[i]! }))
    const builds = outputs.map((output) => ({ attrPath: output.attrPath, reasons: [] }))
    const all = execFileSync("nix-store", ["--query", "--requisites", ...drvs], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
      .split("\n").filter((line) => line.endsWith(".drv"))

    const baseline = async () => {
      for (let start = 0; start < all.length; start += 1000) {
        execFileSync("nix", [...nixArgs, ...show, ...all.slice(start, start + 1000)], { stdio: ["ignore", "ignore", "ignore"], maxBuffer: 256 * 1024 * 1024 })
      }
    }
    let shardCount = 0
    const tool = async () => {
      const { shards, warnings } = await runtime.runPromise(
        shardBuilds([{ system: "x86_64-linux", builds, outputs }], 200).pipe(Effect.provide(Derivations.layer))
      )
      const split = shards.get("x86_64-linux")
      if (warnings.length > 0) throw new Error(warnings.join("; "))
      // Within the limit, the plan reads the closure and asks Nix nothing.
      if (all.length <= 200) {
        if (split !== undefined) throw new Error("a build set within the limit split")
        return
      }
      if (split === undefined) throw new Error("not split")
      const derivations = split.flatMap((shard) => shard.derivations)
      if (derivations.length !== all.length || new Set(derivations).size !== all.length) throw new Error("a derivation in no shard, or in two")
      shardCount = split.length
    }
    // The pure split alone, on the graph the plan reads.
    const graph = new Map(all.map((drvPath) => [drvPath, [] as Array<string>]))
    for (const line of execFileSync("nix-store", ["--query", "--graph", ...drvs], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).split("\n")) {
      const edge = /^"([^"]+)" -> "([^"]+)"/.exec(line)
      if (edge !== null) graph.get(`/nix/store/${edge[2]}`)?.push(`/nix/store/${edge[1]}`)
    }
    const targets = outputs.map((output) => ({ key: output.attrPath.join("."), drvPaths: [output.drvPath] }))
    const pure = async () => {
      if (splitBuilds(targets, graph, 200).length < (all.length <= 200 ? 1 : 2)) throw new Error("the pure split found too few shards")
    }

    const times = { baseline: [] as Array<number>, tool: [] as Array<number>, pure: [] as Array<number> }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["baseline", "tool", "pure"] as const) : (["pure", "tool", "baseline"] as const)
      for (const which of order) times[which].push((await timed(which === "baseline" ? baseline : which === "tool" ? tool : pure)) * 1000)
    }
    const [b, t, p] = [median(times.baseline), median(times.tool), median(times.pure)]
    const list = (values: ReadonlyArray<number>) => values.map((value) => value.toFixed(0)).join(", ")
    console.log(`${all.length} derivations to build, ${targets.length} targets, ${shardCount || "not split into"} shards of at most 200; ${rounds} rounds`)
    console.log(`  nix ${show.join(" ")} of them   median ${b.toFixed(0)} ms  (${list(times.baseline)})`)
    console.log(`  tool plan's split (dry-run, reads, split)   median ${t.toFixed(0)} ms  (${list(times.tool)})`)
    console.log(`  splitBuilds alone                           median ${p.toFixed(1)} ms  (${times.pure.map((v) => v.toFixed(1)).join(", ")})`)
    console.log(`  ratio split/show: ${(t / b).toFixed(2)}; splitBuilds/show: ${(p / b).toFixed(3)}`)
  }
} finally {
  await runtime.dispose()
  rmSync(scratch, { recursive: true, force: true })
}
