{
  description = "A STAND-IN for the few nixpkgs attributes ci's flake and template use, for tests on machines that cannot fetch nixpkgs. Not nixpkgs.";

  outputs =
    { self }:
    let
      # Written by test/support/nixpkgsStandIn.ts when it copies this directory: the host's programs.
      host = builtins.fromJSON (builtins.readFile ./host.json);
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      pkgsFor = system: import ./pkgs.nix { inherit system host; };
    in
    {
      legacyPackages = builtins.listToAttrs (
        map (system: {
          name = system;
          value = pkgsFor system;
        }) systems
      );
      lib = (pkgsFor "x86_64-linux").lib;
    };
}
