import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    // Tests run real nix and git; a cold store makes the first evaluations slow.
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
