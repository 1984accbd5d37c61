import { stringify } from "yaml"
import type { Pipeline } from "./pipeline.ts"

/** Buildkite accepts at most this many jobs in one upload. */
export const maxStepsPerUpload = 500

/** The pipeline as YAML documents, each small enough for one upload. */
export const pipelineDocuments = (pipeline: Pipeline, limit = maxStepsPerUpload): ReadonlyArray<string> => {
  const documents: Array<string> = []
  for (let start = 0; start < pipeline.steps.length; start += limit) {
    documents.push(stringify({ steps: pipeline.steps.slice(start, start + limit) }, { lineWidth: 0 }))
  }
  return documents
}

/** One text for reading: the documents separated by `---`. */
export const pipelineYaml = (pipeline: Pipeline): string =>
  pipeline.steps.length === 0 ? stringify({ steps: [] }) : pipelineDocuments(pipeline).join("---\n")
