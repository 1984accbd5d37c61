import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { workingTreeCheckout } from "./support/checkout.ts"
import { nixpkgsStandIn } from "./support/nixpkgsStandIn.ts"
import { repoRoot } from "./support/paths.ts"
import { yamlPipelineErrors } from "./support/pipelineSchema.ts"

/**
 * Every shell block of the docs marked runnable (` ```sh runnable `) runs as written,
 * in order, each document in a new empty directory. The network is not here, so a
 * `nix` first on PATH hands the real one `github:denbeigh2000/ci` as this working
 * tree (a `git+file:` checkout) and nixpkgs as the test stand-in
 * (test/nixpkgs-stand-in); `/path/to/ci` is this checkout. Nothing else is changed.
 */

const documents = ["README.md", "templates/default/README.md", ...readdirSync(join(repoRoot, "docs")).map((name) => `docs/${name}`)]

/** The runnable blocks of a Markdown document, in order. */
const runnableBlocks = (markdown: string): ReadonlyArray<string> =>
  [...markdown.matchAll(/^```sh runnable\n([\s\S]*?)^```$/gm)].map((match) => match[1]!)

const checkout = workingTreeCheckout()
const standIn = nixpkgsStandIn()
const realNix = spawnSync("sh", ["-c", "command -v nix"], { encoding: "utf8" }).stdout.trim()

const shimBin = (() => {
  const bin = mkdtempSync(join(tmpdir(), "ci-docs-bin-"))
  writeFileSync(
    join(bin, "nix"),
    `#!/usr/bin/env bash
set -euo pipefail
args=()
for arg in "$@"; do args+=("\${arg//github:denbeigh2000\\/ci/git+file://${checkout}}"); done
extra=()
case "\${args[0]:-} \${args[1]:-}" in
  "flake lock" | "flake check")
    extra=(--override-input nixpkgs "path:${standIn}")
    [[ " \${args[*]} " == *" --override-input ci "* ]] || extra+=(--override-input ci "git+file://${checkout}")
    exec ${realNix} "\${args[@]:0:2}" "\${extra[@]}" "\${args[@]:2}" ;;
  "run "* | "build "*)
    exec ${realNix} "\${args[0]}" --override-input nixpkgs "path:${standIn}" "\${args[@]:1}" ;;
esac
exec ${realNix} "\${args[@]}"
`
  )
  chmodSync(join(bin, "nix"), 0o755)
  return bin
})()

const environment = {
  ...process.env,
  PATH: `${shimBin}:${process.env.PATH}`,
  GIT_AUTHOR_NAME: "Docs Reader",
  GIT_AUTHOR_EMAIL: "reader@example.com",
  GIT_COMMITTER_NAME: "Docs Reader",
  GIT_COMMITTER_EMAIL: "reader@example.com"
}

const asWritten = (block: string) =>
  block.replaceAll("/path/to/ci/bin/tool", join(repoRoot, "bin/tool")).replaceAll("/path/to/ci", checkout)

const runBlock = (block: string, cwd: string) => {
  const run = spawnSync("bash", ["-euo", "pipefail", "-c", asWritten(block)], { cwd, encoding: "utf8", env: environment, maxBuffer: 64 * 1024 * 1024 })
  assert.strictEqual(run.status, 0, `this block failed:\n${block}\n${run.stderr}`)
  // What prints a pipeline prints a valid one.
  if (run.stdout.startsWith("steps:")) assert.deepStrictEqual(yamlPipelineErrors(run.stdout), [], block)
  return run
}

describe("the docs", () => {
  it("mark runnable blocks where a reader would run them", () => {
    const counts = Object.fromEntries(documents.map((document) => [document, runnableBlocks(readFileSync(join(repoRoot, document), "utf8")).length]))
    assert.isAtLeast(counts["docs/getting-started.md"]!, 4)
    assert.isAtLeast(counts["templates/default/README.md"]!, 1)
  })

  it("getting-started.md runs as written, and its mistake gives the error it shows", () => {
    const markdown = readFileSync(join(repoRoot, "docs/getting-started.md"), "utf8")
    const project = mkdtempSync(join(tmpdir(), "ci-docs-getting-started-"))
    const outputs = runnableBlocks(markdown).map((block) => runBlock(block, project))
    // Step 2 plans a tag build: the lint check, the build, the deploy.
    assert.include(outputs[2]!.stdout, "key: deploy-release")

    // Step 3's typo, committed (plans read commits), and the error the page shows.
    const shown = /## 3\.[\s\S]*?```\n(error: [^\n]+)\n```/.exec(markdown)![1]!
    const flake = join(project, "flake.nix")
    writeFileSync(flake, readFileSync(flake, "utf8").replace("deploySteps", "deploySetps"))
    runBlock(`git commit -qam typo`, project)
    const typo = spawnSync("bash", ["-c", "nix run github:denbeigh2000/ci#tool -- plan --dry-run"], { cwd: project, encoding: "utf8", env: environment })
    assert.strictEqual(typo.status, 2, typo.stderr)
    assert.include(typo.stderr, shown)
  })

  it("the template's README runs as written in a project the template made", () => {
    const project = mkdtempSync(join(tmpdir(), "ci-docs-template-"))
    runBlock("git init -q && nix flake init -t github:denbeigh2000/ci", project)
    for (const block of runnableBlocks(readFileSync(join(project, "README.md"), "utf8"))) runBlock(block, project)
  })
})
