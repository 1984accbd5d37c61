# Tests of nix/lib.nix in the manner of nixpkgs' lib.debug.runTests: each test is
# { expr; expected; }, and the result is the list of those that fail (empty when
# all pass). Error messages are tested from test/nix/lib.test.ts, since Nix cannot
# catch a thrown message.
{
  lib ? import ../../nix/lib.nix,
}:
let
  inherit (builtins) attrNames filter map;

  drv =
    name:
    builtins.derivation {
      inherit name;
      system = "x86_64-linux";
      builder = "/bin/sh";
    };
  app = name: {
    type = "app";
    program = "${drv name}/bin/${name}";
  };
  self = {
    packages.x86_64-linux.bot = drv "bot";
    packages.aarch64-linux.bot = drv "bot";
    apps.x86_64-linux.deploy = app "deploy";
    checks.riscv64-linux.lint = drv "lint";
  };
  forSystem = actions: (lib.mkActions { inherit self actions; }).x86_64-linux;
  # What the tool reads of a normalised value, without the targets themselves.
  shape = builtins.mapAttrs (
    _: action:
    action
    // {
      checks = map (c: removeAttrs c [ "target" ]) action.checks;
      deploySteps = map (s: removeAttrs s [ "target" ]) action.deploySteps;
      conditions = map (c: removeAttrs c [ "targets" ]) action.conditions;
      builds = map (b: b.name) action.builds;
    }
  );

  tests = {
    testHelpersMakeThePlainSets = {
      expr = [
        (lib.conditions.branch "master")
        (lib.conditions.tag "v.*")
        (lib.conditions.source "schedule")
        (lib.conditions.schedule "nightly")
        (lib.conditions.changed [ 1 ])
        (lib.steps.run { name = "a"; target = 1; })
        lib.steps.wait
        lib.steps.block
      ];
      expected = [
        { branch = "master"; }
        { tag = "v.*"; }
        { source = "schedule"; }
        { schedule = "nightly"; }
        { changed = [ 1 ]; }
        { type = "run"; name = "a"; target = 1; }
        { type = "wait"; }
        { type = "block"; }
      ];
    };

    testSystemsDefaultToTheFlakesOutputs = {
      expr = attrNames (lib.mkActions { inherit self; actions = { }; });
      expected = [ "_type" "_version" "aarch64-linux" "riscv64-linux" "x86_64-linux" ];
    };

    testSystemsCanBeGiven = {
      expr = attrNames (lib.mkActions { inherit self; systems = [ "x86_64-darwin" ]; actions = { }; });
      expected = [ "_type" "_version" "x86_64-darwin" ];
    };

    testActionsMayBeAFunctionOfSystem = {
      expr = map (c: c.pattern) ((lib.mkActions { inherit self; actions = { system }: { a.conditions = [ { branch = system; } ]; }; }).aarch64-linux.a.conditions);
      expected = [ "aarch64-linux" ];
    };

    testDefaultsAndPaths = {
      expr = shape (forSystem {
        deployBot = {
          conditions = [ { branch = "master"; } { changed = [ self.packages.x86_64-linux.bot ]; } ];
          checks = [ { name = "lint"; target = self.apps.x86_64-linux.deploy; } ];
          builds = [ self.packages.x86_64-linux.bot ];
          deploySteps = [
            { name = "staging"; target = self.apps.x86_64-linux.deploy; }
            lib.steps.wait
            (lib.steps.block // { prompt = "Ship it?"; })
            (lib.steps.run { name = "production"; label = "Production"; target = self.apps.x86_64-linux.deploy; retries = 2; })
          ];
        };
      });
      expected = {
        deployBot = {
          path = "ciActions.deployBot";
          conditions = [
            { kind = "branch"; pattern = "master"; path = "ciActions.deployBot.conditions[0]"; }
            { kind = "changed"; path = "ciActions.deployBot.conditions[1]"; }
          ];
          checks = [ { name = "lint"; displayName = "lint"; path = "ciActions.deployBot.checks[0]"; } ];
          builds = [ "bot" ];
          deploySteps = [
            { type = "run"; name = "staging"; label = "staging"; retries = 0; path = "ciActions.deployBot.deploySteps[0]"; }
            { type = "wait"; path = "ciActions.deployBot.deploySteps[1]"; }
            { type = "block"; label = null; prompt = "Ship it?"; path = "ciActions.deployBot.deploySteps[2]"; }
            { type = "run"; name = "production"; label = "Production"; retries = 2; path = "ciActions.deployBot.deploySteps[3]"; }
          ];
          deploySystem = null;
        };
      };
    };

    testActionNamesThatAreNotIdentifiersAreQuoted = {
      expr = (forSystem { "deploy bot" = { }; })."deploy bot".path;
      expected = ''ciActions."deploy bot"'';
    };

    testAnActionWithNothingIsValid = {
      expr = shape (forSystem { idle = { }; });
      expected.idle = {
        path = "ciActions.idle";
        conditions = [ ];
        checks = [ ];
        builds = [ ];
        deploySteps = [ ];
        deploySystem = null;
      };
    };

    testAnActionDeploysFromOneOfItsSystems = {
      expr = map (system: (lib.mkActions { inherit self; actions.a.deploySystem = "aarch64-linux"; }).${system}.a.deploySystem) [
        "x86_64-linux"
        "aarch64-linux"
      ];
      expected = [ "aarch64-linux" "aarch64-linux" ];
    };

    testRunStepsMayShareATarget = {
      expr = map (s: s.name) (forSystem {
        a.deploySteps = [
          { name = "one"; target = self.apps.x86_64-linux.deploy; }
          { name = "two"; target = self.apps.x86_64-linux.deploy; }
        ];
      }).a.deploySteps;
      expected = [ "one" "two" ];
    };

    # Names no one means: a line separator (U+2028), a paragraph separator (U+2029), NEL
    # (U+0085), a tab, a bidirectional override (U+202E), a byte order mark (U+FEFF).
    testNamesNoOneMeansAreRefused =
      let
        refused = name: [
          (builtins.tryEval (forSystem { a.checks = [ { inherit name; target = self.apps.x86_64-linux.deploy; } ]; })).success
          (builtins.tryEval (forSystem { a.deploySteps = [ { inherit name; target = self.apps.x86_64-linux.deploy; } ]; })).success
          (builtins.tryEval (forSystem { ${name} = { }; })).success
          (builtins.tryEval (lib.expectAttrName "packages.x86_64-linux" name)).success
        ];
      in
      {
        expr = map (escape: refused (builtins.fromJSON ''"lint${escape}bot"'')) [ "\\u2028" "\\u2029" "\\u0085" "\\t" "\\u202e" "\\ufeff" ];
        expected = map (_: [ false false false false ]) [ 1 2 3 4 5 6 ];
      };

    testOrdinaryNamesAreAccepted = {
      expr = map (name: [
        (map (c: c.name) (forSystem { a.checks = [ { inherit name; target = self.apps.x86_64-linux.deploy; } ]; }).a.checks)
        (lib.expectAttrName "packages.x86_64-linux" name)
      ]) [ "1_000" "yes" "deploy bot" "déployer" "🚀" ];
      expected = map (name: [ [ name ] name ]) [ "1_000" "yes" "deploy bot" "déployer" "🚀" ];
    };

    testInvalidActionsFailToEvaluate = {
      expr = (builtins.tryEval (forSystem { a.deploySteps = [ { type = "comand"; } ]; })).success;
      expected = false;
    };
  };
in
map (name: { inherit name; inherit (tests.${name}) expr expected; }) (
  filter (name: tests.${name}.expr != tests.${name}.expected) (attrNames tests)
)
