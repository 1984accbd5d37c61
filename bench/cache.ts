/**
 * bench/cache: what `tool build`'s push to the binary cache (`BinaryCache.push`: sign
 * with the key, then `nix copy --to`) costs against a bare `nix copy --to` of the same
 * paths, unsigned: COUNT built outputs in a chain of closures (each depends on the one
 * before, so closures overlap as real ones do), pushed to a new `file://` cache by each
 * in turn. Rounds alternate; medians compared.
 *
 *   node bench/cache.ts [COUNT]          (default 200; BENCH_ROUNDS=3)
 */
import { NodeServices } from "@effect/platform-node"
import { Clock, ConfigProvider, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Process } from "../src/effects/Process.ts"
import { BinaryCache } from "../src/nix/BinaryCache.ts"
import { median, nixArgs, rounds, timed } from "./benchFlake.ts"

const count = Number(process.argv[2] ?? 200)
const scratch = mkdtempSync(join(tmpdir(), "ci-bench-cache-"))
const salt = `${Date.now()}-${process.pid}`

try {
  writeFileSync(join(scratch, "chain.nix"), `
    builtins.genList (i: builtins.derivation {
      name = "c\${toString i}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "echo \${toString i} ${salt} \${if i == 0 then "" else toString (builtins.elemAt (import ./chain.nix) (i - 1))} > $out" ];
    }) ${count}
  `)
  const drvs = execFileSync("nix-instantiate", [join(scratch, "chain.nix")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    .split("\n").filter((line) => line !== "")
  const paths = execFileSync("nix-store", ["--realise", ...drvs], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    .split("\n").filter((line) => line !== "")
  execFileSync("nix-store", ["--generate-binary-cache-key", "bench-1", join(scratch, "secret"), join(scratch, "public")])

  const bare = async (cache: string) => {
    execFileSync("nix", [...nixArgs, "copy", "--to", cache, ...paths], { stdio: "ignore" })
  }
  const tool = async (cache: string) => {
    // The service is made outside the timing; only its push is timed, as tool build runs it.
    return Effect.runPromise(Effect.gen(function*() {
      const binaryCache = yield* BinaryCache
      const start = yield* Clock.currentTimeMillis
      const outcome = yield* binaryCache.push(paths)
      if (outcome._tag !== "Pushed" || outcome.paths.length !== count) throw new Error(`unexpected push: ${JSON.stringify(outcome)}`)
      return (yield* Clock.currentTimeMillis) - start
    }).pipe(
      Effect.provide(BinaryCache.layer.pipe(Layer.provide(Process.layer), Layer.provideMerge(NodeServices.layer))),
      // The settings as a step's environment gives them (the default provider reads process.env once).
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { CI_NIX_CACHE: cache, CI_NIX_SIGNING_KEY_FILE: join(scratch, "secret") } }))
    ))
  }

  const times = { bare: [] as Array<number>, tool: [] as Array<number> }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (["bare", "tool"] as const) : (["tool", "bare"] as const)
    for (const which of order) {
      const dir = mkdtempSync(join(scratch, `${which}-`))
      const cache = `file://${dir}`
      times[which].push(which === "bare" ? (await timed(() => bare(cache))) * 1000 : await tool(cache))
      const narinfos = readdirSync(dir).filter((file) => file.endsWith(".narinfo")).length
      if (narinfos !== count) throw new Error(`${which} left ${narinfos} of ${count} paths in ${cache}`)
    }
  }
  const bareMedian = median(times.bare)
  const toolMedian = median(times.tool)
  console.log(`${count} paths, ${rounds} rounds`)
  console.log(`bare nix copy --to file://   median ${bareMedian.toFixed(0)} ms  (${times.bare.map((t) => t.toFixed(0)).join(", ")})`)
  console.log(`tool push (sign + copy)      median ${toolMedian.toFixed(0)} ms  (${times.tool.map((t) => t.toFixed(0)).join(", ")})`)
  console.log(`ratio tool/bare: ${(toolMedian / bareMedian).toFixed(2)}`)
} finally {
  execFileSync("chmod", ["-R", "u+w", scratch])
  rmSync(scratch, { recursive: true, force: true })
}
