{
  description = "ci: declare CI actions in your flake; build exactly what changed on Buildkite";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable-small";

  outputs =
    { self, nixpkgs }:
    {
      # Builtins only: users' flakes can follow nixpkgs to nothing and still use it.
      lib = import ./nix/lib.nix;
    };
}
