import { assert, describe, it } from "@effect/vitest"
import { classifyFailure } from "../../src/nix/failures.ts"

describe("classifyFailure", () => {
  it.each([
    "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused",
    "error: unable to download 'https://cache.nixos.org/abc.narinfo': HTTP error 503",
    "error: unable to download 'https://example.com/x.tar.gz': Couldn't resolve host name (6)",
    "error: unable to download 'https://example.com/x': Timeout was reached (28)",
    "error: builder for '/nix/store/abc-x.drv' failed due to signal 9 (Killed)",
    "error: writing to file: No space left on device",
    "error: SQLite database '/nix/var/nix/db/db.sqlite' is busy: database is locked",
    "error: some substitutes for the outputs of derivation '/nix/store/abc-x.drv' failed (usually happens due to networking issues); try '--fallback' to build derivation from source "
  ])("retries %s", (text) => {
    assert.strictEqual(classifyFailure(text), "transient")
  })

  it.each([
    "error: builder for '/nix/store/abc-x.drv' failed with exit code 1",
    "error: Cannot build '/nix/store/abc-x.drv'.\n       Reason: builder failed with exit code 2.",
    "error: attribute 'deplyo' missing",
    "error: undefined variable 'pkgs'",
    "error: syntax error, unexpected end of file",
    "error: infinite recursion encountered",
    "error: hash mismatch in fixed-output derivation '/nix/store/abc-src.drv'",
    "error: flake 'git+file:///repo' does not provide attribute 'apps.x86_64-linux.deploy'",
    "something nobody has seen before"
  ])("does not retry %s", (text) => {
    assert.strictEqual(classifyFailure(text), "permanent")
  })

  it("lets a builder's own failure outweigh a network error in the same output", () => {
    assert.strictEqual(
      classifyFailure("curl: (6) Couldn't resolve host 'example.com'\nerror: builder for '/nix/store/abc-x.drv' failed with exit code 6"),
      "permanent"
    )
  })
})
