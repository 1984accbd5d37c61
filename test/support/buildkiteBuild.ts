import { isDeepStrictEqual } from "node:util"
import { parse } from "yaml"

/**
 * Where Buildkite puts uploaded steps, as its docs say: "the upload command inserts
 * the steps immediately after the upload step", for every upload, so several
 * uploads from one job land in reverse order. A build is a list of jobs; the
 * planning job uploads, then each step that uploads (a part's last step) runs in
 * build order, and its uploads land right after it.
 *
 * After every upload the build must hold a prefix of the pipeline as planned (the
 * uploading jobs aside): then no step is ever there before a gate (`wait`, `block`)
 * that precedes it. Each upload must also stay within Buildkite's 500 jobs.
 */

export interface BuildRun {
  /** The build's steps at the end, uploading steps left out. */
  readonly steps: ReadonlyArray<unknown>
  /** Every way the build broke the rules above, in the order it happened. */
  readonly problems: ReadonlyArray<string>
  /** The number of steps in each upload, in the order they were made. */
  readonly uploads: ReadonlyArray<number>
}

const isUploader = (step: unknown): step is { readonly key: string; readonly command: string } =>
  typeof step === "object" && step !== null && typeof (step as { key?: unknown }).key === "string" &&
  (step as { key: string }).key.startsWith("pipeline-part-")

const describe = (step: unknown): string => (typeof step === "string" ? step : JSON.stringify(step).slice(0, 80))

export const runBuild = (
  planned: ReadonlyArray<unknown>,
  /** The planning job's uploads, in the order it made them. */
  planUploads: ReadonlyArray<string>,
  /** Run an uploading step; its uploads, in order. */
  runUploader: (step: { readonly key: string; readonly command: string }) => ReadonlyArray<string>
): BuildRun => {
  const planJob = { key: "(the planning job)" }
  const build: Array<unknown> = [planJob]
  const problems: Array<string> = []
  const uploads: Array<number> = []
  const ran = new Set<unknown>([planJob])

  const upload = (by: unknown, text: string) => {
    const steps = (parse(text) as { steps: Array<unknown> }).steps
    uploads.push(steps.length)
    if (steps.length > 500) problems.push(`an upload of ${steps.length} jobs, over Buildkite's 500`)
    const at = build.indexOf(by) + 1
    build.splice(at, 0, ...steps)
    const present = build.filter((step) => step !== planJob && !isUploader(step))
    const firstWrong = present.findIndex((step, i) => !isDeepStrictEqual(step, planned[i]))
    if (firstWrong !== -1) {
      problems.push(
        `after upload ${uploads.length}, the build holds ${describe(present[firstWrong])} at step ${firstWrong}, where the plan has ${describe(planned[firstWrong])}: a step is there before what precedes it`
      )
    }
  }

  for (const text of planUploads) upload(planJob, text)
  for (let next = build.find((step) => isUploader(step) && !ran.has(step)); next !== undefined; next = build.find((step) => isUploader(step) && !ran.has(step))) {
    ran.add(next)
    const uploader = next as { key: string; command: string }
    for (const text of runUploader(uploader)) upload(uploader, text)
  }
  return { steps: build.filter((step) => step !== planJob && !isUploader(step)), problems, uploads }
}
