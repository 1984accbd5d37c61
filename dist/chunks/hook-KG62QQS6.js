import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{notInGit}from"./chunk-UNTXNAH3.js";import{Git,services}from"./chunk-WP7GDWW6.js";import"./chunk-II6X4J2D.js";import{CommandLine_exports}from"./chunk-GBDNKZBN.js";import"./chunk-4N42KIFU.js";import{PlanInputError}from"./chunk-AHN55HH5.js";import{Console_exports,FileSystem_exports,Path_exports}from"./chunk-2K7SKTW4.js";import{Effect_exports,Result_exports}from"./chunk-EKAM4O2W.js";import"./chunk-47JGDMEY.js";var hookMarker="# Written by `tool hook install`; `tool hook install --uninstall` removes it.",prePushHook=command=>Result_exports.map(Result_exports.all(command.map(word=>Result_exports.mapError(CommandLine_exports.quote(word),()=>word))),words=>`#!/bin/sh
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
`);var installIn=Effect_exports.fn("hook.install")(function*(input){let git=yield*Git,fs=yield*FileSystem_exports.FileSystem,path=yield*Path_exports.Path,cwd=path.resolve("."),hooks=yield*git.hooksDir(cwd).pipe(Effect_exports.mapError(()=>notInGit(cwd))),file=path.join(hooks,"pre-push"),existing=yield*fs.readFileString(file).pipe(Effect_exports.option),ours=existing._tag==="Some"&&existing.value.includes(hookMarker);if(input.uninstall)return existing._tag==="None"?yield*Console_exports.error(`no pre-push hook in ${hooks}: nothing to remove`):ours?(yield*fs.remove(file).pipe(Effect_exports.orDie),yield*Console_exports.error(`removed ${file}`)):yield*new PlanInputError({place:file,detail:"this pre-push hook was not written by tool hook install; left as it is"});if(existing._tag==="Some"&&!ours)return yield*new PlanInputError({place:file,detail:"a pre-push hook that tool hook install did not write is already there; add `tool run` to it, or move it away first"});let text=yield*Effect_exports.fromResult(prePushHook([process.execPath,...process.argv.slice(1,2)])).pipe(Effect_exports.mapError(word=>new PlanInputError({place:"the tool's path",detail:`${JSON.stringify(word)} cannot be written in a shell script`})));yield*fs.makeDirectory(hooks,{recursive:!0}).pipe(Effect_exports.orDie),yield*fs.writeFileString(file,text,{mode:493}).pipe(Effect_exports.orDie),yield*fs.chmod(file,493).pipe(Effect_exports.orDie),yield*Console_exports.error(`${ours?"updated":"installed"} ${file}: git push now runs tool run (checks and builds) on what it pushes`)}),install=input=>installIn(input).pipe(Effect_exports.provide(services));export{install};
