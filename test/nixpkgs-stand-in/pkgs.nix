# A STAND-IN for nixpkgs: only the attributes ci's flake (nix/package.nix, its devShell,
# checks and formatter) and its template use, each imitating the nixpkgs one closely
# enough to fail where it would fail: an attribute nixpkgs has but this lacks is an
# evaluation error, not a quiet success. Built from the host's bash, coreutils, Node,
# git and Nix. What it cannot prove is written down in docs/packaging.md.
{ system, host }:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    functionArgs
    intersectAttrs
    isFunction
    listToAttrs
    map
    removeAttrs
    stringLength
    substring
    ;

  lib = rec {
    makeBinPath = paths: concatStringsSep ":" (map (path: "${path}/bin") paths);
    hasPrefix = prefix: text: substring 0 (stringLength prefix) text == prefix;
    removePrefix =
      prefix: text:
      if hasPrefix prefix text then
        substring (stringLength prefix) (stringLength text - stringLength prefix) text
      else
        text;
    escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
    genAttrs =
      names: f:
      listToAttrs (
        map (name: {
          inherit name;
          value = f name;
        }) names
      );
  };

  # Makes this instance's derivations differ from any other's: a test that needs a
  # cold build of the tool gets one, however warm the store is.
  nonce = host.nonce or "";

  # The host's programs, under a store path. The script ends in a builtin: bash never
  # becomes `ln` itself, which would close its output before exiting and be killed
  # for it (see setup.sh).
  hostPrograms =
    name: programs:
    builtins.derivation {
      inherit name system nonce;
      builder = host.bash;
      PATH = "/usr/bin:/bin";
      args = [
        "-e"
        "-c"
        ''
          mkdir -p $out/bin
          ${concatStringsSep "\n" (
            map (program: "ln -s ${programs.${program}} $out/bin/${program}") (attrNames programs)
          )}
          exit 0
        ''
      ];
    };

  # What stdenv puts on every build's PATH: coreutils, findutils, diffutils, sed,
  # grep, awk, tar, gzip, bzip2, xz, make, patch and bash. Not npm, not node.
  stdenvTools = hostPrograms "stdenv-tools-stand-in" host.stdenvPrograms;

  # nixpkgs' stdenvNoCC.mkDerivation: the attributes become the builder's
  # environment, except meta and passthru; a function gets the final attributes.
  mkDerivation =
    argument:
    let
      attrs = if isFunction argument then argument attrs else argument;
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      drv = builtins.derivation (
        removeAttrs attrs [
          "meta"
          "passthru"
        ]
        // {
          inherit name system stdenvTools nonce;
          builder = host.bash;
          args = [
            "-e"
            ./setup.sh
          ];
        }
      );
    in
    drv // (attrs.passthru or { }) // { meta = attrs.meta or { }; };

  # nixpkgs' makeWrapper is a setup hook, not a program: it defines the shell
  # function, for the flags nix/package.nix uses, and dies on any other as nixpkgs'
  # does ("makeWrapper doesn't understand the arg").
  makeWrapper = mkDerivation {
    name = "make-wrapper-hook-stand-in";
    buildCommand = ''
      mkdir -p $out/nix-support
      cat > $out/nix-support/setup-hook <<'HOOK'
      makeWrapper() {
        local original="$1" wrapper="$2" flags="" lines=()
        shift 2
        if [ ! -f "$original" ] || [ ! -x "$original" ]; then
          echo "Cannot wrap '$original' because it is not an executable file" >&2
          exit 1
        fi
        while [ $# -gt 0 ]; do
          case "$1" in
            --add-flags) flags="$flags $2"; shift 2 ;;
            --prefix) lines+=("export $2=\"$4\''${$2:+$3\$$2}\""); shift 4 ;;
            --set) lines+=("export $2=\"$3\""); shift 3 ;;
            --run) lines+=("$2"); shift 2 ;;
            *) echo "makeWrapper doesn't understand the arg $1" >&2; exit 1 ;;
          esac
        done
        mkdir -p "$(dirname "$wrapper")"
        {
          echo "#! ${host.bash} -e"
          printf '%s\n' "''${lines[@]}"
          echo "exec \"$original\"$flags \"\$@\""
        } > "$wrapper"
        chmod +x "$wrapper"
      }
      HOOK
    '';
  };

  # A program that fails as its nixpkgs counterpart would here, saying why.
  unavailable =
    name: program: why:
    mkDerivation {
      inherit name;
      buildCommand = ''
        mkdir -p $out/bin
        cat > $out/bin/${program} <<EOF
        #!${host.bash}
        echo ${lib.escapeShellArg "${program} (stand-in): ${why}"} >&2
        exit 1
        EOF
        chmod +x $out/bin/${program}
      '';
      meta.mainProgram = program;
    };

  pkgs = {
    inherit lib system makeWrapper;

    callPackage =
      fn: overrides:
      let
        f = if isFunction fn then fn else import fn;
      in
      f (intersectAttrs (functionArgs f) pkgs // overrides);

    stdenvNoCC = {
      inherit mkDerivation;
    };

    # nodejs_24 has node and npm. Here npm fails as it would in nixpkgs' sandbox,
    # which has no network to install from.
    nodejs_24 =
      hostPrograms "nodejs-24-stand-in" {
        node = host.node;
        npm = "${unavailable "npm-stand-in" "npm" "a Nix build has no network to install packages from"}/bin/npm";
      }
      // {
        meta.mainProgram = "node";
      };

    nix = hostPrograms "nix-stand-in" host.nixPrograms // {
      meta.mainProgram = "nix";
    };
    git = hostPrograms "git-stand-in" { git = host.git; } // {
      meta.mainProgram = "git";
    };

    # No nixfmt on these machines: both build, neither can format.
    nixfmt = unavailable "nixfmt-stand-in" "nixfmt" "cannot format on a machine without nixpkgs";
    nixfmt-tree = unavailable "nixfmt-tree" "treefmt" "cannot format on a machine without nixpkgs";

    # nixpkgs' mkShell is a derivation for `nix develop` that refuses to build.
    mkShell =
      args:
      mkDerivation {
        name = args.name or "nix-shell";
        packages = args.packages or [ ];
        buildCommand = ''
          echo "This derivation is not meant to be built, aborting" >&2
          exit 1
        '';
      };

    runCommand = name: env: buildCommand: mkDerivation (env // { inherit name buildCommand; });

    writeShellScriptBin =
      name: text:
      mkDerivation {
        inherit name text;
        buildCommand = ''
          mkdir -p $out/bin
          { echo "#!${host.bash}"; echo "$text"; } > $out/bin/${name}
          chmod +x $out/bin/${name}
        '';
        meta.mainProgram = name;
      };
  };
in
pkgs
