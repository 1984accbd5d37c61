# A STAND-IN for nixpkgs' stdenv setup (pkgs/stdenv/generic/setup.sh): the builder of
# every derivation the stand-in's stdenvNoCC.mkDerivation and runCommand make. Like the
# real one it runs as a file, not `bash -c`, so bash never replaces itself with the
# last command: a coreutils program as the builder's last process closes stdout and
# stderr before exiting, and Nix then kills it with SIGKILL (NixOS/nix#2176).
#
# What it imitates: PATH from the standard tools and nativeBuildInputs' bin/, their
# nix-support/setup-hook sourced, runHook, and genericBuild's phases with the
# defaults a package without a Makefile gets. What nixpkgs does and this does not
# (fixup's patchShebangs and strip, the sandbox) is listed in docs/packaging.md.
set -eu -o pipefail
shopt -s nullglob

PATH="$stdenvTools/bin"
for input in ${nativeBuildInputs:-}; do
  if [ -d "$input/bin" ]; then PATH="$input/bin:$PATH"; fi
done
export PATH HOME=/homeless-shelter NIX_BUILD_TOP="$TMPDIR"

runHook() {
  local hook="$1"
  if [ -n "${!hook:-}" ]; then eval "${!hook}"; fi
}

for input in ${nativeBuildInputs:-}; do
  if [ -f "$input/nix-support/setup-hook" ]; then source "$input/nix-support/setup-hook"; fi
done

unpackPhase() {
  runHook preUnpack
  # A store path's name without its hash: what nixpkgs calls stripHash.
  sourceRoot="${src##*/}"
  sourceRoot="${sourceRoot#*-}"
  cp -r --no-preserve=mode "$src" "$sourceRoot"
  cd "$sourceRoot"
  runHook postUnpack
}

buildPhase() {
  runHook preBuild
  echo "no Makefile or custom buildPhase, doing nothing"
  runHook postBuild
}

installPhase() {
  echo "installPhase: no Makefile to run 'make install' with" >&2
  exit 2
}

installCheckPhase() {
  runHook preInstallCheck
  echo "no Makefile or custom installCheckPhase, doing nothing"
  runHook postInstallCheck
}

# A phase the derivation sets as a variable replaces the default function.
runPhase() {
  local phase="$1"
  echo "Running phase: $phase"
  if [ -n "${!phase:-}" ]; then eval "${!phase}"; else "$phase"; fi
}

genericBuild() {
  if [ -n "${buildCommand:-}" ]; then
    eval "$buildCommand"
    return
  fi
  if [ -n "${src:-}" ]; then runPhase unpackPhase; fi
  runPhase buildPhase
  runPhase installPhase
  if [ -n "${doInstallCheck:-}" ]; then runPhase installCheckPhase; fi
}

genericBuild
