/**
  A flake and a system, as the plain data `tool plan` decodes (`src/nix/FlakeEvaluation.ts`).

  The tool evaluates this file with its own copy of `lib.nix`, so the shape of the
  data is always the one the tool expects, whatever version of `ci.lib` the flake
  locks. Every target is described by its store path (an app by its program), and the
  tool makes it the attribute path of the standard output it is, so any agent can
  re-evaluate it with `nix build .#<attrPath>` or `nix run .#<attrPath>`.

  # Inputs

  `lib`
  : `nix/lib.nix`.

  `flake`
  : The flake, from `builtins.getFlake` at a locked revision.

  `system`
  : The agent's system, for example `x86_64-linux`.

  `withActions`
  : Whether to read `ciActions`. The base commit needs only the standard outputs.

  `skip`
  : Attribute paths of outputs left unevaluated, listed with no store path: those that
    failed to evaluate in an earlier attempt with an error `tryEval` cannot catch.

  `worker`, `workers`
  : This evaluation's share when `workers` processes evaluate the flake together, each
    with its own `worker` (0 to `workers - 1`): a contiguous slice of the packages, checks
    and devShells in order, so the workers' outputs, concatenated in order, are what one
    evaluation lists. The last worker also lists the formatter and the apps, and describes
    the actions. Targets are described, not resolved: the tool resolves them once it has
    every worker's outputs (`src/nix/workerEvaluations.ts`).
*/
{
  lib,
  flake,
  system,
  withActions ? true,
  skip ? [ ],
  worker ? 0,
  workers ? 1,
}:
let
  inherit (builtins)
    addErrorContext
    attrNames
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    genList
    getContext
    isAttrs
    isString
    length
    map
    mapAttrs
    match
    storeDir
    toJSON
    tryEval
    unsafeDiscardStringContext
    ;

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";
  isApp = v: isAttrs v && (v.type or null) == "app" && isString (v.program or null);

  # The store path an app's program lives in: the output of the derivation behind it.
  programStorePath =
    program:
    let
      m = match "(${storeDir}/[^/]+).*" program;
    in
    if m == null then program else builtins.head m;

  # Derivation kinds in order of preference: when one derivation is exposed under
  # several names, its attribute path is taken from the first kind, and within a
  # kind from a name other than `default`.
  derivationKinds = [
    "packages"
    "checks"
    "devShells"
  ];

  # An output's name goes into installables and pipelines: one no one means is refused.
  namesPreferred =
    kind: set:
    let
      names = map (lib.expectAttrName "${kind}.${system}") (attrNames set);
    in
    filter (n: n != "default") names ++ filter (n: n == "default") names;

  outputsOf = kind: let set = flake.${kind}.${system} or null; in if isAttrs set then set else { };

  # A standard output, with its identity evaluated on its own: one that throws is
  # listed without a store path, so the rest of the plan still stands. An error
  # `tryEval` cannot catch (a type error) carries the output's attribute path in the
  # trace, so the tool can skip it and evaluate again (`skip`). The derivation's path
  # comes with its output path, at no extra cost (for `tool why`).
  guarded = attrPath: addErrorContext "while evaluating the output ${toJSON attrPath}";
  skipped = attrPath: elem attrPath skip;

  evaluated =
    attrPath: kind: value:
    let
      result = tryEval (guarded attrPath (unsafeDiscardStringContext value.outPath));
      drv = tryEval (guarded attrPath (if value ? drvPath then unsafeDiscardStringContext value.drvPath else null));
    in
    {
      inherit attrPath kind;
      storePath = if !skipped attrPath && result.success then result.value else null;
      drvPath = if !skipped attrPath && drv.success then drv.value else null;
    };

  # Whether an output is listed under its kind: a derivation, or one that fails to say.
  listed =
    attrPath: isKind: value:
    let
      recognised = tryEval (guarded attrPath (isKind value));
    in
    skipped attrPath || !recognised.success || recognised.value;

  # Every output that may be a derivation, in order, its value not yet evaluated.
  candidates = concatMap (
    kind:
    let
      set = outputsOf kind;
    in
    map (name: {
      inherit kind;
      attrPath = [ kind system name ];
      value = set.${name};
    }) (namesPreferred kind set)
  ) derivationKinds;

  # This worker's slice of them.
  count = length candidates;
  first = worker * count / workers;
  share = genList (i: elemAt candidates (first + i)) ((worker + 1) * count / workers - first);
  last = worker == workers - 1;

  derivationOutputs = concatMap (
    candidate:
    if listed candidate.attrPath isDerivation candidate.value then
      [ (evaluated candidate.attrPath candidate.kind candidate.value) ]
    else
      [ ]
  ) share;

  formatter =
    let
      attrPath = [ "formatter" system ];
      value = flake.formatter.${system} or null;
    in
    if listed attrPath isDerivation value then [ (evaluated attrPath "formatter" value) ] else [ ];

  appSet = outputsOf "apps";
  appOutputs = concatMap (
    name:
    let
      attrPath = [ "apps" system name ];
      value = appSet.${name};
      program = tryEval (guarded attrPath (unsafeDiscardStringContext value.program));
      storePath = if !skipped attrPath && program.success then programStorePath program.value else null;
      # The derivation whose output holds the program, when its string context names one.
      context = getContext value.program;
      drvs = tryEval (guarded attrPath (filter (path: context.${path} ? outputs) (attrNames context)));
    in
    if listed attrPath isApp value then
      [
        {
          inherit attrPath storePath;
          kind = "apps";
          program = if storePath != null then program.value else null;
          drvPath = if storePath != null && drvs.success && length drvs.value == 1 then builtins.head drvs.value else null;
        }
      ]
    else
      [ ]
  ) (namesPreferred "apps" appSet);

  outputs = derivationOutputs ++ (if last then formatter ++ appOutputs else [ ]);

  # A target, by what identifies it among the outputs: a derivation by its output path
  # (its names for the message when it is none of them), an app by its program. Evaluated
  # whole here, so that an error in it is said with the place that names it.
  describe =
    path: target:
    let
      described =
        if isApp target then
          {
            inherit path;
            program = unsafeDiscardStringContext target.program;
          }
        else
          {
            inherit path;
            storePath = unsafeDiscardStringContext target.outPath;
            name = target.name or null;
            pname = target.pname or null;
          };
    in
    addErrorContext "while resolving `${path}`" (builtins.deepSeq described described);

  ciActions = flake.ciActions or null;

  normalisedActions =
    if ciActions == null then
      null
    else if (ciActions._type or null) == "ci-actions" then
      if (ciActions._version or null) != 1 then
        throw "ciActions: made by a version of ci.lib this tool does not read (format ${toJSON (ciActions._version or null)}, expected 1); update the tool or the flake's ci input"
      else if ciActions ? ${system} then
        ciActions.${system}
      else
        throw "ciActions: no actions for system ${system} (declared for ${concatStringsSep ", " (filter (n: n != "_type" && n != "_version") (attrNames ciActions))}); pass `systems` to ci.lib.mkActions"
    else
      # A plain attribute set (or a function of { system }), as in the design note: it
      # covers the one system it is evaluated for, so that is the one it deploys from.
      lib.normaliseActions "ciActions" [ system ] (if builtins.isFunction ciActions then ciActions { inherit system; } else ciActions);

  describeTargets = mapAttrs (
    name: action: {
      inherit (action) path;
      conditions = map (
        condition:
        if condition.kind == "changed" then
          {
            inherit (condition) kind path;
            targets = map (describe "${condition.path}.changed") condition.targets;
          }
        else
          { inherit (condition) kind path pattern; }
      ) action.conditions;
      checks = map (check: {
        inherit (check) name displayName path;
        target = describe "${check.path}.target" check.target;
      }) action.checks;
      builds = genList (i: describe "${action.path}.builds[${toString i}]" (elemAt action.builds i)) (length action.builds);
      deploySteps = map (
        step:
        if step.type == "run" then
          {
            inherit (step) type name label retries path;
            target = describe "${step.path}.target" step.target;
          }
        else
          step
      ) action.deploySteps;
      # A flake's own, older ci.lib may not know the field.
      deploySystem = action.deploySystem or null;
    }
  );
  # The systems CI covers: those mkActions declares actions for; a plain ciActions covers this one.
  systems =
    if (ciActions._type or null) == "ci-actions" then
      filter (name: name != "_type" && name != "_version") (attrNames ciActions)
    else
      [ system ];
in
{
  version = 1;
  inherit system outputs systems;
  hasCiActions = ciActions != null;
  # Its derivations first, as when targets were resolved by store path here: an action naming an
  # output whose error tryEval cannot catch then fails as that output, which the tool skips.
  actions =
    if last && withActions && normalisedActions != null then
      builtins.deepSeq (map (output: output.storePath) (derivationOutputs ++ formatter)) (describeTargets normalisedActions)
    else
      null;
}
