# For users without flakes: `(import (fetchTarball "https://github.com/denbeigh2000/ci/archive/main.tar.gz")).lib`.
{
  lib = import ./nix/lib.nix;
}
