import { NodeServices } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { Git, GitError } from "../../src/effects/Git.ts"
import { Process } from "../../src/effects/Process.ts"
import { FixtureRepo } from "../support/fixtureRepo.ts"

/** The checkout facts `tool plan` and `tool why` read, from real repositories. */

const live = Git.layer.pipe(Layer.provide(Process.layer), Layer.provide(NodeServices.layer))

/**
 * main: first ← second ← third; feature branches off second with its own commit;
 * origin has main and feature; a tracked file differs between commits.
 */
const history = () => {
  const repo = FixtureRepo.create(inject("ciSnapshot"), "main")
  const first = repo.commit("first", { "notes.txt": "one\n" })
  const second = repo.commit("second", { "notes.txt": "two\n", "sub/dir/file.txt": "x\n" })
  repo.git("checkout", "--quiet", "-b", "feature")
  const feature = repo.commit("feature")
  repo.git("checkout", "--quiet", "main")
  const third = repo.commit("third", { "notes.txt": "three\n" })
  repo.git("update-ref", "refs/remotes/origin/main", third)
  repo.git("update-ref", "refs/remotes/origin/feature", feature)
  repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
  return { dir: realpathSync(repo.dir), repo, first, second, third, feature }
}

layer(live)("Git", (it) => {
  describe("inspect", () => {
    it.effect("finds the top of the work tree from a directory in it, and that the clone is not shallow", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir } = history()
        assert.deepStrictEqual(yield* git.inspect(join(dir, "sub/dir")), { toplevel: dir, shallow: false })
      }))

    it.effect("says a shallow clone is one", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir } = history()
        const clone = join(mkdtempSync(join(tmpdir(), "ci-git-")), "shallow")
        execFileSync("git", ["clone", "--quiet", "--depth", "1", `file://${dir}`, clone])
        assert.isTrue((yield* git.inspect(clone)).shallow)
      }))

    it.effect("fails outside a checkout, keeping git's failure as the cause", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const outside = realpathSync(mkdtempSync(join(tmpdir(), "ci-git-")))
        const error = yield* git.inspect(outside).pipe(Effect.flip)
        assert.instanceOf(error, GitError)
        assert.strictEqual(error.cause?._tag, "ProcessFailed")
        assert.strictEqual(error.cause?._tag === "ProcessFailed" ? error.cause.exitCode : undefined, 128)
        assert.include(error.reason, "not a git repository")
        assert.strictEqual(error.message, `git rev-parse failed in ${outside}: ${error.cause?.message}`)
      }))
  })

  describe("resolveCommits", () => {
    it.effect("resolves each rev to a full sha, none for one that names no commit, in one process", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, first, second, third, feature } = history()
        const resolved = yield* git.resolveCommits(dir, ["HEAD", "HEAD^", "feature", first.slice(0, 8), "no-such-branch", "HEAD^{tree}", "HEAD\nmain"])
        assert.deepStrictEqual(resolved, [
          Option.some(third),
          Option.some(second),
          Option.some(feature),
          Option.some(first),
          Option.none(),
          Option.none(),
          Option.none()
        ])
      }))
  })

  describe("mergeBase", () => {
    it.effect("finds the common ancestor, or none for unrelated histories", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, repo, second, third, feature } = history()
        assert.deepStrictEqual(yield* git.mergeBase(dir, third, feature), Option.some(second))
        repo.git("checkout", "--quiet", "--orphan", "unrelated")
        const unrelated = repo.commit("unrelated")
        assert.deepStrictEqual(yield* git.mergeBase(dir, third, unrelated), Option.none())
      }))

    it.effect("fails on a commit that is not there", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, third } = history()
        const error = yield* git.mergeBase(dir, third, "0".repeat(40)).pipe(Effect.flip)
        assert.instanceOf(error, GitError)
        assert.strictEqual(error.operation, "merge-base")
      }))
  })

  describe("branches", () => {
    it.effect("lists the remote branches that contain a commit, without the remote's name or HEAD", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, second, third, feature } = history()
        assert.deepStrictEqual(yield* git.remoteBranchesContaining(dir, second), ["feature", "main"])
        assert.deepStrictEqual(yield* git.remoteBranchesContaining(dir, third), ["main"])
        assert.deepStrictEqual(yield* git.remoteBranchesContaining(dir, feature), ["feature"])
      }))

    it.effect("names the checked-out branch, and none on a detached HEAD", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, repo, second } = history()
        assert.deepStrictEqual(yield* git.currentBranch(dir), Option.some("main"))
        repo.git("checkout", "--quiet", "--detach", second)
        assert.deepStrictEqual(yield* git.currentBranch(dir), Option.none())
      }))
  })

  describe("the work tree and files", () => {
    it.effect("is dirty when a tracked file changed, not for an untracked one", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir } = history()
        assert.isFalse(yield* git.isDirty(dir))
        writeFileSync(join(dir, "untracked.txt"), "new\n")
        assert.isFalse(yield* git.isDirty(dir))
        writeFileSync(join(dir, "notes.txt"), "changed\n")
        assert.isTrue(yield* git.isDirty(dir))
      }))

    it.effect("reads a file as it was at a commit, and none where the commit has no such file", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, first, second } = history()
        assert.deepStrictEqual(yield* git.fileAt(dir, first, "notes.txt"), Option.some("one\n"))
        assert.deepStrictEqual(yield* git.fileAt(dir, second, "sub/dir/file.txt"), Option.some("x\n"))
        assert.deepStrictEqual(yield* git.fileAt(dir, first, "sub/dir/file.txt"), Option.none())
      }))
  })

  describe("isAncestor", () => {
    it.effect("says whether a commit is in another's history, itself included", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, first, third, feature } = history()
        assert.isTrue(yield* git.isAncestor(dir, first, third))
        assert.isTrue(yield* git.isAncestor(dir, third, third))
        assert.isFalse(yield* git.isAncestor(dir, feature, third))
        assert.isFalse(yield* git.isAncestor(dir, third, first))
      }))

    it.effect("fails on a commit this clone does not have", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, third } = history()
        const error = yield* git.isAncestor(dir, "0123456789abcdef0123456789abcdef01234567", third).pipe(Effect.flip)
        assert.strictEqual(error.operation, "merge-base --is-ancestor")
      }))
  })

  describe("tagsBefore", () => {
    it.effect("lists the tags of a commit's ancestors, nearest first, without its own", () =>
      Effect.gen(function*() {
        const git = yield* Git
        const { dir, repo, first, second, third, feature } = history()
        repo.git("tag", "v1", first)
        repo.git("tag", "-a", "-m", "annotated", "v2", second)
        repo.git("tag", "release-2", second)
        repo.git("tag", "v3", third)
        repo.git("tag", "on-feature", feature)
        // An annotated tag names its commit; the commit's own tag (v3) is not before it.
        assert.deepStrictEqual(yield* git.tagsBefore(dir, third), [
          { tag: "release-2", sha: second },
          { tag: "v2", sha: second },
          { tag: "v1", sha: first }
        ])
        assert.deepStrictEqual(yield* git.tagsBefore(dir, first), [])
      }))
  })
})
