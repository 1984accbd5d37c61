import { Clock, Context, Duration, Effect, FiberSet, Layer, Option, Redacted, Schema } from "effect"
import { showBuildRef } from "../domain/BuildkiteBuild.ts"
import { metaDataKeys, PlanActions } from "../domain/metaData.ts"
import { unmeantCharacter } from "../domain/names.ts"
import { BuildkiteApi, type BuildkiteApiError, type PipelineRef } from "../effects/BuildkiteApi.ts"
import { DiscordInteractions } from "../effects/DiscordInteractions.ts"
import { nearestName } from "../plan/attribute.ts"
import { code, type MessagePayload, renderStatus } from "../render/embed.ts"

/**
 * The `/ci` application command: `/ci deploy action ref`, `/ci rebuild build`,
 * `/ci status [branch]`. Each is answered at once, within Discord's three seconds:
 * a refusal only the user sees, or "thinking…" (a deferred answer) that is then
 * edited with the result of the Buildkite API calls, however long they take.
 * Authentication (signature, timestamp, replay) has happened before any of this.
 */

/** The command as `tool bot register-commands` registers it (Discord's JSON). */
export const ciCommands = [
  {
    name: "ci",
    type: 1,
    description: "Buildkite CI: deploy, rebuild, status",
    options: [
      {
        type: 1,
        name: "deploy",
        description: "Deploy an action: a new build of the CI pipeline with CI_ACTIONS set (approvers only)",
        options: [
          { type: 3, name: "action", description: "The action, as the default branch's last plan names it", required: true, autocomplete: true, max_length: 100 },
          { type: 3, name: "ref", description: "A branch, a tag or a commit (default: the default branch)", required: false, max_length: 200 }
        ]
      },
      {
        type: 1,
        name: "rebuild",
        description: "Run a build of the CI pipeline again (approvers only)",
        options: [{ type: 4, name: "build", description: "The build's number", required: true, min_value: 1 }]
      },
      {
        type: 1,
        name: "status",
        description: "The CI pipeline's latest builds",
        options: [{ type: 3, name: "branch", description: "Only this branch's", required: false, max_length: 200 }]
      }
    ]
  }
] as const

const OptionValue = Schema.Union([Schema.String, Schema.Number, Schema.Boolean])
const LeafOption = Schema.Struct({ name: Schema.String, value: Schema.optionalKey(OptionValue), focused: Schema.optionalKey(Schema.Boolean) })

/** An application command or autocomplete interaction: the fields read here. */
export const CommandInteraction = Schema.Struct({
  id: Schema.String,
  type: Schema.Literals([2, 4]),
  application_id: Schema.String,
  token: Schema.String,
  data: Schema.Struct({
    name: Schema.String,
    options: Schema.optionalKey(Schema.Array(Schema.Struct({ name: Schema.String, options: Schema.optionalKey(Schema.Array(LeafOption)) })))
  }),
  member: Schema.optionalKey(Schema.Struct({ user: Schema.Struct({ id: Schema.String }) })),
  user: Schema.optionalKey(Schema.Struct({ id: Schema.String }))
})
export type CommandInteraction = typeof CommandInteraction.Type

/** What a `/ci` command asks for, its options read and checked. */
export type CiRequest =
  | { readonly _tag: "deploy"; readonly action: string; readonly ref: string | undefined }
  | { readonly _tag: "rebuild"; readonly build: number }
  | { readonly _tag: "status"; readonly branch: string | undefined }

// A ref as Buildkite and git take one: no spaces, no `..`, no option-looking start.
const refPattern = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/+@-]{1,200}$/
const commitPattern = /^[0-9a-f]{40}$/

/** One action's name as `/ci deploy` takes it (and Discord's choices can carry): no spaces, commas or invisible characters. */
const isActionName = (name: string): boolean =>
  name !== "" && name.length <= 100 && !/[\s,]/.test(name) && unmeantCharacter(name) === undefined

/** The request, or why it cannot be one (said to the user). Pure. */
export const readRequest = (data: CommandInteraction["data"]): CiRequest | { readonly _tag: "invalid"; readonly reason: string } => {
  const sub = data.options?.[0]
  const option = (name: string) => sub?.options?.find((candidate) => candidate.name === name)?.value
  const ref = (name: string) => {
    const value = option(name)
    if (value === undefined) return { ok: true as const, value: undefined }
    return typeof value === "string" && refPattern.test(value)
      ? { ok: true as const, value }
      : { ok: false as const, reason: `\`${name}\` must be a branch, a tag or a commit: letters, digits and . _ / + @ -` }
  }
  if (data.name !== "ci") return { _tag: "invalid", reason: `unknown command /${data.name}` }
  switch (sub?.name) {
    case "deploy": {
      const action = option("action")
      const at = ref("ref")
      if (typeof action !== "string" || !isActionName(action)) {
        return { _tag: "invalid", reason: "`action` must be one action's name (or `all`)" }
      }
      return at.ok ? { _tag: "deploy", action, ref: at.value } : { _tag: "invalid", reason: at.reason }
    }
    case "rebuild": {
      const build = option("build")
      return typeof build === "number" && Number.isInteger(build) && build >= 1
        ? { _tag: "rebuild", build }
        : { _tag: "invalid", reason: "`build` must be a build number" }
    }
    case "status": {
      const branch = ref("branch")
      return branch.ok ? { _tag: "status", branch: branch.value } : { _tag: "invalid", reason: branch.reason }
    }
    default:
      return { _tag: "invalid", reason: `unknown subcommand ${JSON.stringify(sub?.name ?? "")}` }
  }
}

/** Buildkite's new build for `/ci deploy`: a commit is built as on the default branch, a branch or tag at its tip. */
export const deployBuild = (request: { readonly action: string; readonly ref: string | undefined }, defaultBranch: string, userId: string) => {
  const ref = request.ref ?? defaultBranch
  const commit = commitPattern.test(ref)
  return {
    commit: commit ? ref : "HEAD",
    branch: commit ? defaultBranch : ref,
    message: `Deploy ${request.action} (requested in Discord by user ${userId})`,
    env: { CI_ACTIONS: request.action }
  }
}

export type Response = { readonly type: number; readonly data?: object }

/** What an interaction's answer is edited through: its application and its token. */
export interface Deferrable {
  readonly application_id: string
  readonly token: string
}

const noMentions = { allowed_mentions: { parse: [] } }
const privately = (content: string): Response => ({ type: 4, data: { content, flags: 64, ...noMentions } })
/** "Thinking…": the answer comes as an edit of this one. */
const deferred = (ephemeral: boolean): Response => ({ type: 5, data: ephemeral ? { flags: 64 } : {} })

/** How long the action names read from the last plan are kept. */
const actionsTtl = Duration.minutes(1)
/** Autocomplete has three seconds in all: the names are looked up for at most this long. */
const autocompleteBudget = Duration.millis(2_000)
/** How many builds back the default branch's last plan is looked for. */
const planSearchDepth = 10

export class Commands extends Context.Service<Commands, {
  /** The answer to a command or an autocomplete from `userId`; a deferred answer's edit runs on. */
  answer(interaction: CommandInteraction, userId: string): Effect.Effect<Response>
  /** "Thinking…" now (`ephemeral`: only the user sees it); the answer becomes `work`'s message once it is done. */
  defer(interaction: Deferrable, ephemeral: boolean, work: Effect.Effect<MessagePayload>): Effect.Effect<Response>
  /** Wait up to `timeout` for the deferred answers under way; true when none is left. */
  drain(timeout: Duration.Input): Effect.Effect<boolean>
}>()("ci/bot/Commands") {
  static readonly layer = (options: {
    readonly pipeline: PipelineRef | undefined
    readonly defaultBranch: string
    readonly approvers: ReadonlyArray<string>
  }) =>
    Layer.effect(
      Commands,
      Effect.gen(function*() {
        const api = yield* BuildkiteApi
        const discord = yield* DiscordInteractions
        const followUps = yield* FiberSet.make<void>()
        let cached: { readonly names: ReadonlyArray<string>; readonly at: number } | undefined

        /** The actions the default branch's last plan declared; none when no build says. */
        const knownActions = Effect.fnUntraced(function*(pipeline: PipelineRef) {
          const now = yield* Clock.currentTimeMillis
          if (cached !== undefined && now - cached.at < Duration.toMillis(actionsTtl)) return Option.some(cached.names)
          const builds = yield* api.latestBuilds(pipeline, { branch: options.defaultBranch, count: planSearchDepth })
          for (const build of builds) {
            const names = Schema.decodeUnknownOption(PlanActions)(build.meta_data?.[metaDataKeys.planActions])
            if (Option.isSome(names)) {
              // Meta-data any job of the build could write: only names that could be actions are offered.
              cached = { names: names.value.filter(isActionName), at: now }
              return Option.some(cached.names)
            }
          }
          return Option.none<ReadonlyArray<string>>()
        })

        const failed = (what: string, error: BuildkiteApiError): MessagePayload => ({ content: `❌ ${what}: ${error.message}`, ...noMentions })

        const deploy = Effect.fnUntraced(function*(pipeline: PipelineRef, request: { action: string; ref: string | undefined }, userId: string) {
          const known = yield* knownActions(pipeline).pipe(Effect.orElseSucceed(() => Option.none<ReadonlyArray<string>>()))
          if (Option.isSome(known) && request.action !== "all" && !known.value.includes(request.action)) {
            const nearest = nearestName(known.value, request.action)
            return {
              content: `❌ ${code(request.action)} is not an action of the last plan of ${code(options.defaultBranch)}${nearest === undefined ? "" : `; did you mean ${code(nearest)}?`}`,
              ...noMentions
            }
          }
          const build = deployBuild(request, options.defaultBranch, userId)
          return yield* api.createBuild(pipeline, build).pipe(
            Effect.map((created): MessagePayload => ({
              content: `🚀 <@${userId}> started [${pipeline.pipeline} #${created.number}](${created.web_url}): deploy ${code(request.action)} at ${code(request.ref ?? options.defaultBranch)}`,
              ...noMentions
            })),
            Effect.catch((error) => Effect.succeed(failed("Buildkite did not start the build", error)))
          )
        })

        const rebuild = (pipeline: PipelineRef, number: number, userId: string) => {
          const ref = { ...pipeline, number }
          return api.rebuild(ref).pipe(
            Effect.map((created): MessagePayload => ({
              content: `🔁 <@${userId}> rebuilt ${pipeline.pipeline} #${number} as [#${created.number}](${created.web_url})`,
              ...noMentions
            })),
            Effect.catch((error) =>
              Effect.succeed(error.status === 404 ? { content: `❌ ${showBuildRef(ref)} is not a build Buildkite knows`, ...noMentions } : failed(`Buildkite did not rebuild ${showBuildRef(ref)}`, error))
            )
          )
        }

        const status = (pipeline: PipelineRef, branch: string | undefined) =>
          api.latestBuilds(pipeline, { count: 5, ...(branch === undefined ? {} : { branch }) }).pipe(
            Effect.map((builds) => renderStatus(`Latest builds of ${pipeline.pipeline}${branch === undefined ? "" : ` on ${branch}`}`, builds)),
            Effect.catch((error) => Effect.succeed(failed("Buildkite did not list the builds", error)))
          )

        const defer = (interaction: Deferrable, ephemeral: boolean, work: Effect.Effect<MessagePayload>) =>
          FiberSet.run(
            followUps,
            work.pipe(
              Effect.flatMap((payload) => discord.editOriginal(interaction.application_id, Redacted.make(interaction.token), payload)),
              Effect.catch((error) => Effect.logWarning(`answering /ci: ${error.message}`))
            )
          ).pipe(Effect.as(deferred(ephemeral)))

        const autocomplete = Effect.fnUntraced(function*(interaction: CommandInteraction, pipeline: PipelineRef) {
          const typed = interaction.data.options?.[0]?.options?.find((option) => option.focused === true)?.value
          const known = yield* knownActions(pipeline).pipe(
            Effect.timeoutOption(autocompleteBudget),
            Effect.map(Option.flatten),
            Effect.orElseSucceed(() => Option.none<ReadonlyArray<string>>())
          )
          const needle = typeof typed === "string" ? typed.toLowerCase() : ""
          const names = [...Option.getOrElse(known, () => []), "all"].filter((name) => name.toLowerCase().includes(needle)).slice(0, 25)
          return { type: 8, data: { choices: names.map((name) => ({ name, value: name })) } }
        })

        const answer = Effect.fn("Commands.answer")(function*(interaction: CommandInteraction, userId: string) {
          const pipeline = options.pipeline
          if (pipeline === undefined) {
            return interaction.type === 4
              ? { type: 8, data: { choices: [] } }
              : privately("The /ci commands are not set up: set CI_BOT_BUILDKITE_PIPELINE.")
          }
          if (interaction.type === 4) return yield* autocomplete(interaction, pipeline)
          const asked = interaction.data.options?.[0]?.name
          if ((asked === "deploy" || asked === "rebuild") && !options.approvers.includes(userId)) {
            return privately(`Only the configured approvers can use /ci ${asked}.`)
          }
          const request = readRequest(interaction.data)
          switch (request._tag) {
            case "invalid":
              return privately(`❌ ${request.reason}`)
            case "status":
              return yield* defer(interaction, true, status(pipeline, request.branch))
            case "deploy":
              return yield* defer(interaction, false, deploy(pipeline, request, userId))
            case "rebuild":
              return yield* defer(interaction, false, rebuild(pipeline, request.build, userId))
          }
        })

        const drain = (timeout: Duration.Input) =>
          FiberSet.awaitEmpty(followUps).pipe(Effect.timeoutOption(timeout), Effect.map(Option.isSome))

        return Commands.of({ answer, defer, drain })
      })
    )
}
