import { Effect, Layer } from "effect"
import { readBuildkiteEnvironment } from "../effects/BuildkiteEnvironment.ts"
import { Derivations } from "../nix/Derivations.ts"
import { Evaluations } from "../nix/Evaluations.ts"
import { planCi } from "./plan/ciMode.ts"
import { planDeploy } from "./plan/deployMode.ts"
import type { PlanFlags } from "./plan/flags.ts"
import { services } from "./services.ts"

/**
 * `tool plan`: CI mode (src/commands/plan/ciMode.ts), or deploy mode in a deploy
 * build (src/commands/plan/deployMode.ts). Its flags and help: src/cli/plan.ts.
 */

const planIn = Effect.fn("plan")(function*(flagsIn: PlanFlags) {
  const environment = yield* readBuildkiteEnvironment
  return environment.DENBEIGH_DEPLOY === "true" ? yield* planDeploy(flagsIn, environment) : yield* planCi(flagsIn, environment)
})

export const plan = (flagsIn: PlanFlags) =>
  planIn(flagsIn).pipe(
    Effect.provide(Evaluations.layer({ cache: !flagsIn.noCache })),
    Effect.provide(Layer.merge(services, Derivations.layer))
  )
