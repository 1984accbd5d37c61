import type { Difference } from "../../src/plan/why.ts"

/** A difference as src/plan/why.ts reports one: every key present, these set. */
export const difference = (overrides: Partial<Difference> & Pick<Difference, "kind">): Difference => ({
  name: null,
  base: null,
  head: null,
  line: null,
  attributes: [],
  flakeInput: null,
  why: [],
  unexplored: null,
  ...overrides
})
