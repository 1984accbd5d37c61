{
  description = "A flake whose CI is declared with ci.lib.mkActions";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    ci.url = "github:denbeigh2000/ci";
    # ci's library needs no nixpkgs of its own.
    ci.inputs.nixpkgs.follows = "";
  };

  outputs =
    { self, nixpkgs, ci }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (system: pkgs: {
        # Your software. CI builds every package whose output path changed.
        hello = pkgs.writeShellScriptBin "hello" ''echo "hello from CI"'';
        default = self.packages.${system}.hello;
      });

      apps = forAllSystems (system: pkgs: {
        lint = {
          type = "app";
          program = "${pkgs.writeShellScriptBin "lint" ''echo "lint: nothing to complain about"''}/bin/lint";
        };
        deploy = {
          type = "app";
          program = "${pkgs.writeShellScriptBin "deploy" ''echo "deploying ${self.packages.${system}.hello}"''}/bin/deploy";
        };
      });

      ciActions = ci.lib.mkActions {
        inherit self;
        actions =
          { system }:
          {
            # Deploy when a v* tag is pushed on main and the package changed.
            release = {
              conditions = [
                { tag = "v.*"; }
                { branch = "main"; }
                { changed = [ self.packages.${system}.hello ]; }
              ];
              checks = [
                {
                  name = "lint";
                  displayName = "Lint";
                  target = self.apps.${system}.lint;
                }
              ];
              deploySteps = with ci.lib.steps; [
                (run {
                  name = "deploy";
                  label = ":rocket: Deploy";
                  target = self.apps.${system}.deploy;
                })
              ];
            };
          };
      };
    };
}
