{
  description = "ci example: the deployBot of the design note, building offline with builtins.derivation";

  inputs.ci.url = "github:denbeigh2000/ci";
  # ci's lib needs no nixpkgs; following nothing keeps it from being fetched.
  inputs.ci.inputs.nixpkgs.follows = "";

  outputs =
    { self, ci }:
    let
      system = "x86_64-linux";

      # Real flakes use nixpkgs (`writeShellScriptBin`, `buildGoModule`, ...). These
      # builders use only /bin/sh and coreutils, so the example builds with no network.
      shell = name: script: builtins.derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" script ];
        PATH = "/bin:/usr/bin";
      };
      package = name: version: shell "${name}-${version}" ''
        mkdir -p $out/bin
        printf '#!/bin/sh\necho "${name} ${version}"\n' > $out/bin/${name}
        chmod +x $out/bin/${name}
      '';
      app = name: text: {
        type = "app";
        program = "${shell name ''
          mkdir -p $out/bin
          printf '#!/bin/sh\n%s\n' '${text}' > $out/bin/${name}
          chmod +x $out/bin/${name}
        ''}/bin/${name}";
      };
    in
    {
      packages.${system} = {
        bot = package "bot" "1.0.0";
        deploy-bot = package "deploy-bot" "1.0.0";
        tool = package "ci-tool" "1.0.1";
        default = self.packages.${system}.bot;
      };

      apps.${system} = {
        check-lint = app "check-lint" "echo lint: ok";
        check-deploy-enable = app "check-deploy-enable" "echo deploys are enabled";
        deploy-bot-staging = app "deploy-bot-staging" "echo deploying bot to staging";
        deploy-bot-production = app "deploy-bot-production" "echo deploying bot to production";
      };

      ciActions = ci.lib.mkActions {
        inherit self;
        actions =
          { system }:
          {
            deployBot = {
              # Every condition must hold: a tag starting with v, on master, that changed the bot.
              conditions = [
                { tag = "v.*"; }
                { branch = "master"; }
                { changed = [ self.packages.${system}.bot ]; }
              ];
              # Cheap checks run first.
              checks = [
                {
                  name = "lint-bot";
                  displayName = "Lint bot";
                  target = self.apps.${system}.check-lint;
                }
              ];
              # Builds are discovered from the targets above and below; list extras here.
              builds = [ self.packages.${system}.deploy-bot ];
              deploySteps = with ci.lib.steps; [
                {
                  name = "deploy enabled";
                  target = self.apps.${system}.check-deploy-enable;
                }
                wait
                (run {
                  label = "CI Bot: staging deploy";
                  name = "deploy-bot-staging";
                  target = self.apps.${system}.deploy-bot-staging;
                })
                block
                (run {
                  label = "CI Bot: production deploy";
                  name = "deploy-bot-production";
                  target = self.apps.${system}.deploy-bot-production;
                })
              ];
            };
          };
      };
    };
}
