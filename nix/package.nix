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
  nodeFlags = builtins.replaceStrings [ "\n" ] [ "" ] (builtins.readFile ../bin/node-flags);
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
    # Node's flags (bin/node-flags): a young generation of 2 MiB and no compilers beyond V8's
    # interpreter, so a plan of 10,000 derivations peaks near 90 MB, not 120 (docs/performance.md).
    makeWrapper ${nodejs_24}/bin/node $out/bin/tool \
      --add-flags "${nodeFlags} $out/lib/ci/dist/tool.mjs" \
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
    runHook postInstallCheck
  '';

  meta = {
    description = "Nix-first CI/CD on Buildkite: plan, check, build and deploy a flake";
    homepage = "https://github.com/denbeigh2000/ci";
    mainProgram = "tool";
  };
})
