import { Console, Context, Effect, Layer } from "effect"
import type { Summary } from "../render/summary.ts"
import { BuildkiteAgent, type BuildkiteAgentError } from "./BuildkiteAgent.ts"

/**
 * Where a command's results go. In a Buildkite job: log groups in the job's log,
 * results as meta-data, the summary as an annotation. Anywhere else (or with
 * `--local`): the same summary on the terminal, and nothing fails for want of an
 * agent.
 */

export class Reporter extends Context.Service<Reporter, {
  readonly inBuildkite: boolean
  /** A collapsed log group in Buildkite; a heading on a terminal. */
  group(title: string): Effect.Effect<void>
  /** Expand the group just written, after a failure (Buildkite's `^^^ +++`). */
  readonly expandGroup: Effect.Effect<void>
  /** A result, as meta-data the Discord bot reads (see docs/metadata.md). */
  record(key: string, value: string): Effect.Effect<void, BuildkiteAgentError>
  summarise(summary: Summary): Effect.Effect<void, BuildkiteAgentError>
}>()("ci/effects/Reporter") {
  static readonly layerBuildkite = Layer.effect(
    Reporter,
    Effect.gen(function*() {
      const agent = yield* BuildkiteAgent
      return Reporter.of({
        inBuildkite: true,
        group: (title) => Console.log(`--- ${title}`),
        expandGroup: Console.log("^^^ +++"),
        record: (key, value) => agent.setMetaData(key, value),
        summarise: (summary) =>
          Console.log(`+++ :clipboard: Summary\n${summary.text}`).pipe(
            Effect.andThen(agent.annotate(summary.markdown, { style: summary.style, context: summary.context }))
          )
      })
    })
  )

  static readonly layerTerminal = Layer.succeed(
    Reporter,
    Reporter.of({
      inBuildkite: false,
      group: (title) => Console.log(`\n── ${title.replace(/:[a-z_+-]+: /g, "")}`),
      expandGroup: Effect.void,
      record: () => Effect.void,
      summarise: (summary) => Console.log(`\n${summary.text}`)
    })
  )

  /** Buildkite's reporter in a Buildkite job, unless `local` asks for the terminal's. */
  static readonly layer = (options: { readonly buildkite: boolean; readonly local: boolean }) =>
    options.buildkite && !options.local ? Reporter.layerBuildkite : Reporter.layerTerminal
}
