/**
  A flake and a system, as the plain data `tool plan` decodes (`src/nix/FlakeEvaluation.ts`).

  The tool evaluates this file with its own copy of `lib.nix`, so the shape of the
  data is always the one the tool expects, whatever version of `ci.lib` the flake
  locks. Every target becomes the attribute path of a standard output, so any agent
  can re-evaluate it with `nix build .#<attrPath>` or `nix run .#<attrPath>`.

  # Inputs

  `lib`
  : `nix/lib.nix`.

  `flake`
  : The flake, from `builtins.getFlake` at a locked revision.

  `system`
  : The agent's system, for example `x86_64-linux`.

  `withActions`
  : Whether to resolve `ciActions`. The base commit needs only the standard outputs.

  `skip`
  : Attribute paths of outputs left unevaluated, listed with no store path: those that
    failed to evaluate in an earlier attempt with an error `tryEval` cannot catch.
*/
{
  lib,
  flake,
  system,
  withActions ? true,
  skip ? [ ],
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
    listToAttrs
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

  derivationOutputs = concatMap (
    kind:
    let
      set = outputsOf kind;
    in
    concatMap (
      name:
      let
        attrPath = [ kind system name ];
      in
      if listed attrPath isDerivation set.${name} then [ (evaluated attrPath kind set.${name}) ] else [ ]
    ) (namesPreferred kind set)
  ) derivationKinds;

  formatter =
    let
      attrPath = [ "formatter" system ];
      value = flake.formatter.${system} or null;
    in
    if listed attrPath isDerivation value then [ (evaluated attrPath "formatter" value) ] else [ ];

  byStorePath = listToAttrs (
    map (output: {
      name = output.storePath;
      value = output;
    }) (filter (output: output.storePath != null) (derivationOutputs ++ formatter))
  );

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
          # The derivation output that provides the program, when the flake exposes one.
          derivation = if storePath != null && byStorePath ? ${storePath} then byStorePath.${storePath}.attrPath else null;
        }
      ]
    else
      [ ]
  ) (namesPreferred "apps" appSet);

  byProgram = listToAttrs (
    map (app: {
      name = app.program;
      value = app;
    }) (filter (app: app.program != null) appOutputs)
  );

  outputs = derivationOutputs ++ formatter ++ appOutputs;

  searched = "packages, checks, devShells, formatter and apps for ${system}";

  # A target's attribute path, looked up by what identifies it: a derivation by its
  # output path, an app by its program.
  resolve =
    path: target:
    addErrorContext "while resolving `${path}`" (
      if isApp target then
        let
          program = unsafeDiscardStringContext target.program;
        in
        if byProgram ? ${program} then
          byProgram.${program}.attrPath
        else
          throw "${path}: the app with program ${toJSON program} is not one of this flake's apps for ${system}; a target must be reachable from the flake's outputs (${searched})"
      else
        let
          outPath = unsafeDiscardStringContext target.outPath;
        in
        if byStorePath ? ${outPath} then
          byStorePath.${outPath}.attrPath
        else
          throw "${path}: the derivation ${toJSON (target.name or outPath)} is not an output of this flake for ${system}; expose it, for example as packages.${system}.${target.pname or target.name or "<name>"}, so every agent can build it (searched ${searched})"
    );

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

  resolveTargets = mapAttrs (
    name: action: {
      inherit (action) path;
      conditions = map (
        condition:
        if condition.kind == "changed" then
          {
            inherit (condition) kind path;
            targets = map (resolve "${condition.path}.changed") condition.targets;
          }
        else
          { inherit (condition) kind path pattern; }
      ) action.conditions;
      checks = map (check: {
        inherit (check) name displayName path;
        target = resolve "${check.path}.target" check.target;
      }) action.checks;
      builds = genList (i: resolve "${action.path}.builds[${toString i}]" (elemAt action.builds i)) (length action.builds);
      deploySteps = map (
        step:
        if step.type == "run" then
          {
            inherit (step) type name label retries path;
            target = resolve "${step.path}.target" step.target;
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
  actions = if withActions && normalisedActions != null then resolveTargets normalisedActions else null;
}
