import { Layer } from "effect"
import { BuildkiteAgent } from "../effects/BuildkiteAgent.ts"
import { Git } from "../effects/Git.ts"
import { Process } from "../effects/Process.ts"
import { Evaluations } from "../nix/Evaluations.ts"
import { Nix } from "../nix/Nix.ts"

/** The services the commands run with, built only for the one that runs (src/cli/ loads none of it). */
export const services = Layer.mergeAll(Git.layer, Nix.layer, BuildkiteAgent.layer).pipe(Layer.provideMerge(Process.layer))

/** `services` and the evaluation cache, for the commands that evaluate the work tree (run, watch). */
export const servicesWithEvaluations = Layer.merge(services, Evaluations.layer({ cache: true }).pipe(Layer.provide(services)))
