import { Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { lazily } from "./lazily.ts"
import { localFlag } from "./reporting.ts"

export const deploy = Command.make(
  "deploy",
  {
    target: Flag.String("target").pipe(Flag.withDescription("The deploy app to run, for example .#apps.x86_64-linux.deploy-staging")),
    name: Flag.String("name").pipe(Flag.withDescription("The step's name, for its result (default: the target's attribute path)"), Flag.optional),
    retries: Flag.Int("retries").pipe(
      Flag.withDescription("Run the app again up to this many times (0 to 10) if it fails; declare it only for idempotent deploys"),
      Flag.withSchema(Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 10 })))),
      Flag.withDefault(0)
    ),
    retryDelay: Flag.Finite("retry-delay").pipe(
      Flag.withDescription("Seconds before the first retry; each further wait doubles, up to a minute, with jitter"),
      Flag.withDefault(2)
    ),
    local: localFlag
  },
  lazily(() => import("../commands/deploy.ts"), (module, input) => module.deploy(input))
).pipe(
  Command.withDescription(
    "Run a deploy app and record its result; transient Nix failures are retried, the app itself only as often as --retries allows"
  ),
  Command.withExamples([
    { command: "tool deploy --target .#apps.x86_64-linux.deploy-staging --name staging --retries 2", description: "Deploy to staging, trying up to three times" }
  ])
)
