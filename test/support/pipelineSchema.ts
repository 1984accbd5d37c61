import { Ajv } from "ajv"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { isDeepStrictEqual } from "node:util"
import { parseAllDocuments } from "yaml"
import type { Pipeline } from "../../src/render/pipeline.ts"
import { pipelineDocument } from "../../src/render/yaml.ts"
import { repoRoot } from "./paths.ts"

/**
 * The one place the suite checks a pipeline, wherever it was rendered: against the
 * official Buildkite schema, and as YAML the way the agent reads it. The agent parses
 * uploads with go-yaml v3, a port of libyaml (YAML 1.1); PyYAML's `CSafeLoader` is
 * libyaml itself, so every YAML text is parsed by it and by the `yaml` package (1.2),
 * and the two must agree with each other and with the object rendered.
 */

const schema = JSON.parse(readFileSync(`${repoRoot}test/fixtures/buildkite-pipeline-schema.json`, "utf8"))
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)

const schemaErrors = (pipeline: unknown): ReadonlyArray<string> =>
  validate(pipeline) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`)

// Reads a JSON list of YAML texts on stdin; writes, for each, its documents or the
// error. Values JSON cannot tell from a string (dates, floats, non-string keys)
// come back tagged, so they never compare equal to the string that was meant.
const libyamlScript = String.raw`
import json, sys
try:
    import yaml
    Loader = yaml.CSafeLoader
except (ImportError, AttributeError) as error:
    sys.stderr.write("PyYAML with libyaml is missing (%s)\n" % error)
    sys.exit(3)

def tag(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and abs(value) < 2 ** 53:
        return value
    if isinstance(value, list):
        return [tag(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: tag(item) for key, item in value.items()}
        return {"$python": "map", "items": [[tag(key), tag(item)] for key, item in value.items()]}
    return {"$python": type(value).__name__, "repr": repr(value)}

results = []
for text in json.loads(sys.stdin.buffer.read().decode("utf-8")):
    try:
        results.append({"documents": [tag(document) for document in yaml.load_all(text, Loader=Loader)]})
    except Exception as error:
        results.append({"error": "%s: %s" % (type(error).__name__, error)})
sys.stdout.write(json.dumps(results))
`

type LibyamlResult = { readonly documents: ReadonlyArray<unknown> } | { readonly error: string }

/** Parse YAML texts with libyaml, all in one process. Throws, saying what to install, when libyaml is missing. */
export const parseWithLibyaml = (texts: ReadonlyArray<string>): ReadonlyArray<LibyamlResult> => {
  const run = spawnSync("/usr/bin/python3", ["-c", libyamlScript], {
    input: JSON.stringify(texts),
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024
  })
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(
      `the pipeline checks need libyaml: install Debian's python3-yaml (apt-get install python3-yaml); /usr/bin/python3 said: ${run.error?.message ?? run.stderr}`
    )
  }
  return JSON.parse(run.stdout)
}

/** Parse YAML texts with the `yaml` package (YAML 1.2), each into its documents. */
const parseWithYamlPackage = (text: string): LibyamlResult => {
  const documents = parseAllDocuments(text)
  const errors = (Array.isArray(documents) ? documents : [documents]).flatMap((document) => document.errors.map((error) => error.message))
  return errors.length > 0 ? { error: errors.join("; ") } : { documents: (documents as Array<{ toJS(): unknown }>).map((document) => document.toJS()) }
}

/** The first place two parsed values differ, for a readable error. */
const firstDifference = (a: unknown, b: unknown, place = ""): string | undefined => {
  if (isDeepStrictEqual(a, b)) return undefined
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const inner = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${place}/${key}`)
      if (inner !== undefined) return inner
    }
  }
  return `${place || "/"}: ${JSON.stringify(a)} against ${JSON.stringify(b)}`
}

/**
 * Every problem with YAML texts as uploads: a parse error, libyaml and the `yaml`
 * package disagreeing, a document that is not exactly what `pipelineDocument`
 * renders for what it holds, and schema errors. Each text is checked alone, in one
 * libyaml process for all of them.
 */
const yamlErrors = (texts: ReadonlyArray<string>, rendered: ReadonlyArray<unknown | undefined>): ReadonlyArray<ReadonlyArray<string>> =>
  parseWithLibyaml(texts).map((libyaml, i) => {
    const text = texts[i]!
    const yaml = parseWithYamlPackage(text)
    if ("error" in libyaml) return [`libyaml cannot parse the upload: ${libyaml.error}`]
    if ("error" in yaml) return [`the yaml package cannot parse the upload: ${yaml.error}`]
    const disagreement = firstDifference(libyaml.documents, yaml.documents)
    if (disagreement !== undefined) return [`libyaml reads the upload otherwise than YAML 1.2: ${disagreement}`]
    const expected = rendered[i]
    if (expected !== undefined) {
      const difference = firstDifference(libyaml.documents, [JSON.parse(JSON.stringify(expected))])
      if (difference !== undefined) return [`libyaml reads the rendered pipeline otherwise: ${difference}`]
    }
    const written = text.split(/^---\n/m)
    return libyaml.documents.flatMap((document, j) => {
      const again = pipelineDocument(document as Pipeline)
      return [
        ...(written[j]?.trimEnd() === again.trimEnd() ? [] : [`document ${j} is not what pipelineDocument renders for what it holds:\n${again}`]),
        ...schemaErrors(document)
      ]
    })
  })

/** The errors of each pipeline object: the schema's, and libyaml's reading of it as `pipelineDocument` renders it. */
export const pipelinesErrors = (pipelines: ReadonlyArray<unknown>): ReadonlyArray<ReadonlyArray<string>> =>
  yamlErrors(pipelines.map((pipeline) => pipelineDocument(pipeline as Pipeline)), pipelines)

/** The errors of a pipeline object, as above. */
export const pipelineErrors = (pipeline: unknown): ReadonlyArray<string> => pipelinesErrors([pipeline])[0]!

/** The errors of each upload (one or more documents separated by `---`), as above, in one libyaml process. */
export const yamlPipelinesErrors = (texts: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> =>
  yamlErrors(texts, texts.map(() => undefined))

/** The errors of an upload, as above. */
export const yamlPipelineErrors = (text: string): ReadonlyArray<string> => yamlPipelinesErrors([text])[0]!
