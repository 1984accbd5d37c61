import { startupSnapshot } from "node:v8"
import { prestartPlan } from "../commands/plan/prestart.ts"

/**
 * `tool plan` from a V8 start-up snapshot (`node --snapshot-blob plan.blob plan …`): the heap
 * as it is once the CLI's and the plan's modules have run, so a plan starts without loading
 * them (docs/performance.md). scripts/build.mjs bundles this file as one CommonJS script and
 * builds the blob with the Node that will run it.
 */

// A snapshot cannot hold ICU objects, and effect's CLI makes an `Intl.Segmenter` when it loads:
// while the snapshot is built, a Segmenter makes its ICU object when first used.
const IcuSegmenter = Intl.Segmenter
class LazySegmenter {
  readonly #args: ConstructorParameters<typeof Intl.Segmenter>
  #made: Intl.Segmenter | undefined
  constructor(...args: ConstructorParameters<typeof Intl.Segmenter>) {
    this.#args = args
  }
  #segmenter() {
    return (this.#made ??= new IcuSegmenter(...this.#args))
  }
  segment(input: string) {
    return this.#segmenter().segment(input)
  }
  resolvedOptions() {
    return this.#segmenter().resolvedOptions()
  }
}
Object.defineProperty(Intl, "Segmenter", { value: LazySegmenter, configurable: true, writable: true })
const { runCli } = require("./program.ts") as typeof import("./program.ts")
// The plan's own code, run now rather than imported when the command runs.
require("../commands/plan.ts")
Object.defineProperty(Intl, "Segmenter", { value: IcuSegmenter, configurable: true, writable: true })

startupSnapshot.setDeserializeMainFunction(() => {
  // Started from a snapshot, Node has no script: argv is [node, ...args]; the CLI reads argv[2] on.
  process.argv.splice(1, 0, "tool")
  if (process.argv[2] === "plan") prestartPlan(process.argv.slice(3))
  runCli()
})
