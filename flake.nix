{
  description = "ci: declare CI actions in your flake; build exactly what changed on Buildkite";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable-small";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      pkgsFor = system: nixpkgs.legacyPackages.${system};
    in
    {
      # Builtins only: a flake can follow nixpkgs to nothing and still use it.
      lib = import ./nix/lib.nix;

      overlays.default = final: prev: { ci-tool = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (system: rec {
        tool = (pkgsFor system).callPackage ./nix/package.nix { };
        default = tool;
      });

      apps = forAllSystems (system: rec {
        tool = {
          type = "app";
          program = "${self.packages.${system}.tool}/bin/tool";
          meta.description = "Plan, check, build and deploy a flake's CI on Buildkite";
        };
        default = tool;
      });

      devShells = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkShell {
            packages = [
              pkgs.nodejs_24
              pkgs.git
              pkgs.nix
              pkgs.nixfmt
            ];
          };
        }
      );

      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
          failures = import ./test/nix/lib-tests.nix { lib = self.lib; };
        in
        {
          tool = self.packages.${system}.tool;
          # The library's runTests suite runs as the check is evaluated; a failure stops evaluation with the details.
          lib-tests =
            if failures == [ ] then
              pkgs.runCommand "ci-lib-tests" { } "echo 'nix/lib.nix: all tests pass' > $out"
            else
              throw "nix/lib.nix tests failed:\n${builtins.toJSON failures}";
        }
      );

      # `nix fmt`: nixfmt over every .nix file in the tree.
      formatter = forAllSystems (system: (pkgsFor system).nixfmt-tree);

      templates.default = {
        path = ./templates/default;
        description = "A flake whose CI is declared with ci.lib.mkActions";
        welcomeText = ''
          Your flake now declares its CI in `ciActions`. Read README.md, then commit
          (`tool plan` plans commits, not the work tree) and plan:

              git add -A && nix flake lock && git add flake.lock && git commit -m "CI with ci"
              nix run github:denbeigh2000/ci#tool -- plan --dry-run
        '';
      };
    };
}
