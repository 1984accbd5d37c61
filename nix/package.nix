# The `tool` command as a Nix package: the committed esbuild bundle (dist/), run by
# Node 24, with nix and git first on its PATH and its own nix/ files beside it.
# Nothing comes from npm at install time: `npm run build` makes dist/ and the
# project commits it (docs/packaging.md), so this needs only nixpkgs' own Node.
{
  lib,
  stdenvNoCC,
  nodejs_24,
  makeWrapper,
  nix,
  git,
}:
let
  root = ../.;
  packageJson = builtins.fromJSON (builtins.readFile ../package.json);
  nodeFlags = builtins.replaceStrings [ "\n" ] [ " " ] (builtins.readFile ../bin/node-flags);
in
stdenvNoCC.mkDerivation (finalAttrs: {
  pname = "ci-tool";
  inherit (packageJson) version;

  # Only what is installed: a change to src/, docs or tests does not rebuild the package.
  src = builtins.path {
    name = "ci-tool-source";
    path = root;
    filter =
      path: type:
      builtins.elem (builtins.head (builtins.split "/" (lib.removePrefix (toString root + "/") (toString path)))) [
        "dist"
        "nix"
        "package.json"
      ];
  };

  nativeBuildInputs = [ makeWrapper ];

  # package.json is the project's own: it tells Node that dist/*.js are ES modules.
  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib/ci
    cp -r dist nix package.json $out/lib/ci/
    # `tool plan` starts from a V8 snapshot of its code (dist/plan-snapshot.cjs), which only the
    # Node binary that built it can start from: built here, by the Node the wrapper runs, with
    # its flags. Every other command starts from the loader, dist/tool.mjs.
    ${nodejs_24}/bin/node ${nodeFlags} --snapshot-blob $out/lib/ci/dist/plan.blob \
      --build-snapshot $out/lib/ci/dist/plan-snapshot.cjs
    # Node's flags (bin/node-flags): a young generation of 2 MiB and no compilers beyond V8's
    # interpreter, so a plan of 10,000 derivations peaks near 90 MB, not 120 (docs/performance.md).
    makeWrapper ${nodejs_24}/bin/node $out/bin/tool \
      --add-flags "${nodeFlags}" \
      --run "if [ \"\''${1-}\" = plan ]; then set -- --snapshot-blob $out/lib/ci/dist/plan.blob \"\$@\"; else set -- $out/lib/ci/dist/tool.mjs \"\$@\"; fi" \
      --prefix PATH : ${lib.makeBinPath [ nix git ]} \
      --set CI_NIX_DIR $out/lib/ci/nix
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    version="$($out/bin/tool --version)"
    if [ "$version" != "tool v${finalAttrs.version}" ]; then
      echo "tool --version printed '$version', expected 'tool v${finalAttrs.version}'" >&2
      exit 1
    fi
    # The snapshot starts: this Node accepts the blob and the flags it was built with.
    $out/bin/tool plan --help >/dev/null
    runHook postInstallCheck
  '';

  meta = {
    description = "Nix-first CI/CD on Buildkite: plan, check, build and deploy a flake";
    homepage = "https://github.com/denbeigh2000/ci";
    mainProgram = "tool";
  };
})
