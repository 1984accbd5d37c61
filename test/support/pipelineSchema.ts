import { Ajv } from "ajv"
import { readFileSync } from "node:fs"
import { parse } from "yaml"
import { repoRoot } from "./paths.ts"

const schema = JSON.parse(readFileSync(`${repoRoot}test/fixtures/buildkite-pipeline-schema.json`, "utf8"))
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)

/** The errors of a pipeline against the official Buildkite schema; empty when valid. */
export const pipelineErrors = (pipeline: unknown): ReadonlyArray<string> =>
  validate(pipeline) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`)

/** Parse every YAML document of an upload and check each against the schema. */
export const yamlPipelineErrors = (text: string): ReadonlyArray<string> =>
  text.split(/^---$/m).flatMap((document) => pipelineErrors(parse(document)))
