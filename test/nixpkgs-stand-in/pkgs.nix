# A STAND-IN for nixpkgs: each attribute imitates the nixpkgs one closely enough for
# ci's flake (nix/package.nix) and its template, built from the host's Node, npm,
# git and Nix. It proves their build and install steps and their wrappers; what it
# cannot prove is written down in docs/packaging.md.
{ system, host }:
let
  inherit (builtins) attrNames concatStringsSep functionArgs intersectAttrs isFunction listToAttrs map stringLength substring;

  lib = {
    makeBinPath = paths: concatStringsSep ":" (map (path: "${path}/bin") paths);
    removePrefix = prefix: text:
      let length = stringLength prefix; in
      if substring 0 length text == prefix then substring length (stringLength text - length) text else text;
    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
  };

  # A derivation built by a bash script with the host's coreutils (no sandbox on these machines).
  shell = name: env: script: builtins.derivation ({
    inherit name system;
    builder = host.bash;
    args = [ "-e" "-c" script ];
    PATH = host.path;
  } // env);

  # The host's programs, under a store path.
  hostPrograms = name: programs: shell name { } ''
    mkdir -p $out/bin
    ${concatStringsSep "\n" (map (program: "ln -s ${programs.${program}} $out/bin/${program}") (attrNames programs))}
  '';

  # nixpkgs' makeWrapper, for the flags nix/package.nix uses: --add-flags, --prefix VAR : VALUE, --set VAR VALUE.
  makeWrapper = shell "make-wrapper-stand-in" { } ''
    mkdir -p $out/bin
    cat > $out/bin/makeWrapper <<'SCRIPT'
    #!/bin/bash
    set -e
    program=$1 wrapper=$2; shift 2
    lines=() flags=""
    while [ $# -gt 0 ]; do
      case $1 in
        --add-flags) flags="$flags $2"; shift 2 ;;
        --prefix) lines+=("export $2=\"$4\''${$2:+$3\$$2}\""); shift 4 ;;
        --set) lines+=("export $2=\"$3\""); shift 3 ;;
        *) echo "makeWrapper stand-in: unsupported $1" >&2; exit 1 ;;
      esac
    done
    { echo "#!/bin/bash"; printf '%s\n' "''${lines[@]}"; echo "exec \"$program\"$flags \"\$@\""; } > "$wrapper"
    chmod +x "$wrapper"
    SCRIPT
    chmod +x $out/bin/makeWrapper
  '';

  nodejs_24 = hostPrograms "nodejs-24-stand-in" { node = host.node; };

  pkgs = {
    inherit lib system makeWrapper nodejs_24;

    callPackage = fn: overrides:
      let f = if isFunction fn then fn else import fn; in
      f (intersectAttrs (functionArgs f) pkgs // overrides);

    nix = hostPrograms "nix-stand-in" { nix = "${host.nixBin}/nix"; nix-store = "${host.nixBin}/nix-store"; nix-instantiate = "${host.nixBin}/nix-instantiate"; };
    git = hostPrograms "git-stand-in" { git = host.git; };
    nixfmt-rfc-style = shell "nixfmt-stand-in" { } "mkdir -p $out/bin; printf '#!/bin/sh\\nexit 0\\n' > $out/bin/nixfmt; chmod +x $out/bin/nixfmt";

    # nixpkgs' importNpmLock fetches every package in package-lock.json; this one
    # leaves them to the host's npm cache, which `npm ci` filled.
    importNpmLock = {
      __functor = _: { npmRoot }: { inherit npmRoot; };
      npmConfigHook = "stand-in";
    };

    # nixpkgs' buildNpmPackage, reduced to its phases: copy the source, npm ci
    # (offline, from the host's cache), then the package's buildPhase and installPhase.
    buildNpmPackage = args: builtins.derivation {
      name = "${args.pname}-${args.version}";
      inherit system;
      builder = host.bash;
      inherit (args) src buildPhase installPhase;
      npmFlags = concatStringsSep " " (args.npmFlags or [ ]);
      PATH = "${makeWrapper}/bin:${args.nodejs or nodejs_24}/bin:${host.path}";
      npm_config_cache = host.npmCache;
      args = [ "-e" "-c" ''
        export HOME=$TMPDIR
        runHook() { :; }
        cp -r $src/. source && chmod -R u+w source && cd source
        ${host.npm} ci --offline --no-audit --no-fund $npmFlags
        eval "$buildPhase"
        eval "$installPhase"
      '' ];
    };

    mkShell = args: shell "stand-in-shell" { } "echo 'a shell with: ${concatStringsSep " " (map toString (args.packages or [ ]))}' > $out";
    runCommand = name: env: script: shell name env script;
    writeShellScriptBin = name: text: shell name { inherit text; } ''
      mkdir -p $out/bin
      { echo "#!${host.bash}"; echo "$text"; } > $out/bin/${name}
      chmod +x $out/bin/${name}
    '';
  };
in
pkgs
