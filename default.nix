# For users without flakes:
#   ci = import (fetchTarball "https://github.com/denbeigh2000/ci/archive/main.tar.gz") { };
#   ci.lib.mkActions { ... }   # builtins only
#   ci.tool                    # the `tool` command, built with the nixpkgs flake.lock pins (or yours)
{
  pkgs ?
    let
      locked = (builtins.fromJSON (builtins.readFile ./flake.lock)).nodes.nixpkgs.locked;
    in
    import (fetchTarball {
      url = "https://github.com/${locked.owner}/${locked.repo}/archive/${locked.rev}.tar.gz";
      sha256 = locked.narHash;
    }) { },
}:
{
  lib = import ./nix/lib.nix;
  tool = pkgs.callPackage ./nix/package.nix { };
}
