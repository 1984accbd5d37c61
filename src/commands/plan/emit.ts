import { Console, Effect } from "effect"
import type { MetaDataEntry } from "../../domain/metaData.ts"
import { BuildkiteAgent } from "../../effects/BuildkiteAgent.ts"
import { type BuildkiteEnvironment, inBuildkite } from "../../effects/BuildkiteEnvironment.ts"
import type { RenderedCiPipeline } from "../../render/pipeline.ts"
import { pipelineUpload, uploadYaml } from "../../render/yaml.ts"
import type { PlanFlags } from "./flags.ts"

/**
 * Print the plan, then print (dry run) or upload the pipeline, after the plan's
 * annotations and the meta-data its steps (and the bot) read. A pipeline over 500 steps is one upload whose last step uploads
 * the next part (`pipelineUpload`), so no step ever exists ahead of its gates.
 */
export const emit = Effect.fnUntraced(function*(
  flagsIn: PlanFlags,
  environment: BuildkiteEnvironment,
  report: string,
  { pipeline, metaData }: RenderedCiPipeline,
  json: unknown,
  extras: {
    /** The plan's annotation: base, changes and why, warnings. */
    readonly annotation?: { readonly markdown: string; readonly style: "info" | "warning"; readonly context: string }
    /** Markdown for a second annotation (what forced which action), when there is something to say. */
    readonly forcedAnnotation?: string | undefined
    /** Meta-data for others than the pipeline's steps (the bot), set with the upload. */
    readonly metaData?: ReadonlyArray<MetaDataEntry>
  } = {}
) {
  const upload = yield* Effect.fromResult(pipelineUpload(pipeline))
  yield* Console.error(inBuildkite(environment) ? `--- :nix: Plan\n${report}` : report)
  if (flagsIn.dryRun) {
    yield* Console.log(flagsIn.format === "json" ? JSON.stringify(json, null, 2) : uploadYaml(upload))
    return
  }
  if (flagsIn.format === "json") yield* Console.log(JSON.stringify(json, null, 2))
  const agent = yield* BuildkiteAgent
  if (extras.annotation !== undefined && inBuildkite(environment)) {
    yield* agent.annotate(extras.annotation.markdown, { style: extras.annotation.style, context: extras.annotation.context })
  }
  if (pipeline.steps.length === 0) {
    yield* Console.error("nothing to run: no pipeline uploaded")
    return
  }
  if (extras.forcedAnnotation !== undefined) yield* agent.annotate(extras.forcedAnnotation, { style: "info", context: "ci-plan-forced" })
  for (const entry of [...metaData, ...(extras.metaData ?? []), ...upload.parts]) yield* agent.setMetaData(entry.key, entry.value)
  yield* agent.uploadPipeline(upload.document)
  const parts = upload.parts.length === 0 ? "" : ` (in ${upload.parts.length + 1} parts: each part's last step uploads the next)`
  yield* Console.error(`uploaded ${pipeline.steps.length} steps${parts}`)
})
