# The `tool` command as a Nix package: the esbuild bundle of src/, run by Node 24,
# with nix and git on its PATH and its own nix/ files beside it.
{
  lib,
  buildNpmPackage,
  importNpmLock,
  nodejs_24,
  makeWrapper,
  nix,
  git,
}:
let
  root = ../.;
  # Only what the build reads: a change to docs or tests does not rebuild the tool.
  src = builtins.path {
    name = "ci-source";
    path = root;
    filter =
      path: type:
      let
        relative = lib.removePrefix (toString root + "/") (toString path);
        top = builtins.head (builtins.split "/" relative);
      in
      builtins.elem top [
        "package.json"
        "package-lock.json"
        "scripts"
        "src"
        "nix"
      ];
  };
  packageJson = builtins.fromJSON (builtins.readFile ../package.json);
in
buildNpmPackage {
  pname = "ci-tool";
  inherit (packageJson) version;
  inherit src;
  nodejs = nodejs_24;

  # Dependencies straight from package-lock.json: no hash to keep up to date by hand.
  npmDeps = importNpmLock { npmRoot = src; };
  npmConfigHook = importNpmLock.npmConfigHook;
  # The `node` devDependency downloads a Node binary when installed; the bundle needs none of it.
  npmFlags = [ "--ignore-scripts" ];
  dontNpmRebuild = true;

  nativeBuildInputs = [ makeWrapper ];

  # Not `npm run build`: node_modules/.bin/node, the devDependency, is not installed.
  buildPhase = ''
    runHook preBuild
    ${nodejs_24}/bin/node scripts/build.mjs
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib/ci $out/bin
    cp -r dist nix package.json $out/lib/ci/
    makeWrapper ${nodejs_24}/bin/node $out/bin/tool \
      --add-flags $out/lib/ci/dist/tool.mjs \
      --prefix PATH : ${lib.makeBinPath [ nix git ]} \
      --set CI_NIX_DIR $out/lib/ci/nix
    runHook postInstall
  '';

  meta = {
    description = "Nix-first CI/CD on Buildkite: plan, check, build and deploy a flake";
    homepage = "https://github.com/denbeigh2000/ci";
    mainProgram = "tool";
  };
}
