import { Result } from "effect"
import { CommandLine } from "effect/process"

/**
 * The git `pre-push` hook `tool hook install` writes: for each ref pushed, `tool run`
 * on the pushed commit against what the remote has (when this clone has it), checks
 * and builds only. The marker line tells `--uninstall` the hook is the tool's.
 */

export const hookMarker = "# Written by `tool hook install`; `tool hook install --uninstall` removes it."

/** The hook, running the tool with `command` (its program and arguments, quoted here). */
export const prePushHook = (command: ReadonlyArray<string>): Result.Result<string, string> =>
  Result.map(
    Result.all(command.map((word) => Result.mapError(CommandLine.quote(word), () => word))),
    (words) =>
      `#!/bin/sh
${hookMarker}
# Runs \`tool run\` (checks and builds, no deploy) on every commit pushed; a failure stops the push.
status=0
while read -r local_ref local_sha remote_ref remote_sha; do
  # A deleted ref pushes nothing to run.
  case "$local_sha" in *[!0]*) ;; *) continue ;; esac
  set -- --head "$local_sha"
  # Against what the remote has, when this clone has it too; else tool run's default base.
  case "$remote_sha" in *[!0]*) git cat-file -e "$remote_sha^{commit}" 2>/dev/null && set -- "$@" --base "$remote_sha" ;; esac
  case "$remote_ref" in refs/heads/*) set -- "$@" --branch "\${remote_ref#refs/heads/}" ;; refs/tags/*) set -- "$@" --tag "\${remote_ref#refs/tags/}" ;; esac
  echo "pre-push: tool run for $local_ref" >&2
  ${words.join(" ")} run "$@" </dev/null || status=1
done
exit $status
`
  )
