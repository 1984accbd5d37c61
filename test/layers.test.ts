import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"
import { repoRoot } from "./support/paths.ts"

/**
 * docs/architecture.md's rule, checked: every module of src/ belongs to a layer, and
 * imports (type-only and dynamic ones too) only from its own layer or those below.
 *
 *   domain    src/domain: the contracts between processes, and the vocabulary they share
 *   nix       src/nix: Nix's formats read into data, pure
 *   plan      src/plan: deciding, pure
 *   render    src/render: writing for people, Buildkite and Discord, pure
 *   effects   src/effects, and src/nix's services (a module defining a Context.Service)
 *   bot       src/bot
 *   commands  src/commands
 *   cli       src/cli.ts and src/cli: the commands' flags and help, loaded at start
 *
 * And no modules import each other in a circle, within a layer either.
 */

const layers = ["domain", "nix", "plan", "render", "effects", "bot", "commands", "cli"] as const
type Layer = (typeof layers)[number]

interface Module {
  /** From the repository's root, for example `src/nix/Nix.ts`. */
  readonly path: string
  readonly text: string
}

const definesService = (text: string) => /\bContext\.Service\s*</.test(text)

const layerOf = (module: Module): Layer | undefined => {
  const [top, folder] = module.path.split("/")
  if (top !== "src") return undefined
  if (module.path === "src/cli.ts" || folder === "cli") return "cli"
  switch (folder) {
    case "domain":
    case "plan":
    case "render":
    case "effects":
    case "bot":
    case "commands":
      return folder
    case "nix":
      return definesService(module.text) ? "effects" : "nix"
  }
  return undefined
}

/** Each module's imports of other modules in the tree, resolved to paths from the root. */
const importsOf = (module: Module): ReadonlyArray<string> =>
  ts.preProcessFile(module.text, true, true).importedFiles
    .map((file) => file.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(repoRoot, resolve(repoRoot, dirname(module.path), name)))

/** Every import that goes up a layer, or whose module is in none, in words. */
const violations = (modules: ReadonlyArray<Module>): ReadonlyArray<string> => {
  const byPath = new Map(modules.map((module) => [module.path, module]))
  return modules.flatMap((module) => {
    const from = layerOf(module)
    if (from === undefined) return [`${module.path} is in no layer: put it under src/domain, nix, plan, render, effects, bot or commands`]
    return importsOf(module).flatMap((target) => {
      const imported = byPath.get(target)
      if (imported === undefined) return [`${module.path} imports ${target}, which is not a module of src/`]
      const to = layerOf(imported)!
      return layers.indexOf(to) > layers.indexOf(from)
        ? [`${module.path} (${from}) imports ${target} (${to}), a layer above it`]
        : []
    })
  })
}

/** The import cycles among the modules, each as the path that goes round it. */
const cycles = (modules: ReadonlyArray<Module>): ReadonlyArray<string> => {
  const edges = new Map(modules.map((module) => [module.path, importsOf(module)]))
  const found: Array<string> = []
  const done = new Set<string>()
  const visit = (path: string, stack: Array<string>) => {
    const at = stack.indexOf(path)
    if (at >= 0) {
      found.push([...stack.slice(at), path].join(" → "))
      return
    }
    if (done.has(path)) return
    stack.push(path)
    for (const next of edges.get(path) ?? []) visit(next, stack)
    stack.pop()
    done.add(path)
  }
  for (const module of modules) visit(module.path, [])
  return found
}

const sources = (): ReadonlyArray<Module> =>
  readdirSync(join(repoRoot, "src"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .sort()
    .map((file) => {
      const path = join("src", file)
      return { path, text: readFileSync(join(repoRoot, path), "utf8") }
    })

describe("src/ imports flow one way", () => {
  it("no module imports from a layer above its own", () => {
    const modules = sources()
    assert.isAbove(modules.length, 40, "the modules of src/ were read")
    assert.deepStrictEqual(violations(modules), [])
  })

  it("no modules import each other in a circle", () => {
    assert.deepStrictEqual(cycles(sources()), [])
  })

  it("names an import that goes up, a type-only or dynamic one too, and a module in no layer", () => {
    const modules: ReadonlyArray<Module> = [
      { path: "src/domain/a.ts", text: `import type { B } from "../plan/b.ts"` },
      { path: "src/plan/b.ts", text: `export type B = string\nexport const c = () => import("../nix/N.ts")` },
      { path: "src/nix/N.ts", text: `export class N extends Context.Service<N, {}>()("N") {}` },
      { path: "src/nix/p.ts", text: `import { N } from "./N.ts"` },
      { path: "src/stray.ts", text: "" }
    ]
    assert.deepStrictEqual(violations(modules), [
      "src/domain/a.ts (domain) imports src/plan/b.ts (plan), a layer above it",
      "src/plan/b.ts (plan) imports src/nix/N.ts (effects), a layer above it",
      "src/nix/p.ts (nix) imports src/nix/N.ts (effects), a layer above it",
      "src/stray.ts is in no layer: put it under src/domain, nix, plan, render, effects, bot or commands"
    ])
  })

  it("names a cycle by the path round it", () => {
    const modules: ReadonlyArray<Module> = [
      { path: "src/plan/a.ts", text: `import { b } from "./b.ts"` },
      { path: "src/plan/b.ts", text: `import type { a } from "./a.ts"` }
    ]
    assert.deepStrictEqual(cycles(modules), ["src/plan/a.ts → src/plan/b.ts → src/plan/a.ts"])
  })
})
