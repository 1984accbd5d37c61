/**
  ci's Nix library: declare what CI does for a flake, as data, next to its code.

  Builtins only, so `ci.lib` evaluates without nixpkgs. Everything a user writes
  is validated here, and every error names the place it was found, for example:

      ciActions.deployBot.deploySteps[3].type: expected one of run, wait, block, got "comand"
*/
let
  inherit (builtins)
    addErrorContext
    all
    attrNames
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    foldl'
    fromJSON
    genList
    head
    isAttrs
    isBool
    isFloat
    isFunction
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    match
    replaceStrings
    seq
    stringLength
    substring
    toJSON
    tryEval
    typeOf
    ;

  # lib: small helpers in the manner of nixpkgs.lib, written out so no nixpkgs is needed

  optionalCall = f: arg: if isFunction f then f arg else f;
  genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
  imap0 = f: list: genList (i: f i (elemAt list i)) (length list);
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  last = list: elemAt list (length list - 1);
  min = a: b: if a < b then a else b;
  count = x: list: length (filter (y: y == x) list);
  # Force every element to weak head normal form, so the validation each one carries runs now.
  forceAll = list: foldl' (acc: x: seq x acc) list list;
  hasInfix = infix: s: replaceStrings [ infix ] [ "" ] s != s;

  # end lib

  # Characters no one means in a name, as src/domain/names.ts lists them (and
  # test/domain/names.test.ts compares): C0 controls but NUL (no Nix string holds one),
  # DEL and the C1 controls with NEL, the soft hyphen, zero-width and bidirectional
  # marks, line and paragraph separators, word joiners, the byte order mark,
  # interlinear annotations, U+FFFD and the noncharacters U+FFFE and U+FFFF. YAML 1.1
  # parsers read some of them as line breaks; terminals and review tools hide the rest.
  unmeantCharacters =
    let
      hexDigits = "0123456789ABCDEF";
      digitValue = listToAttrs (genList (i: { name = substring i 1 hexDigits; value = i; }) 16);
      fromHex = hex: foldl' (acc: i: acc * 16 + digitValue.${substring i 1 hex}) 0 (genList (i: i) (stringLength hex));
      toHex4 = n: concatStringsSep "" (map (d: substring (n / d - n / d / 16 * 16) 1 hexDigits) [ 4096 256 16 1 ]);
      range = first: last: genList (i: fromHex first + i) (fromHex last - fromHex first + 1);
      codes =
        range "0001" "001F" ++ range "007F" "009F" ++ range "00AD" "00AD" ++ range "061C" "061C" ++ range "180E" "180E"
        ++ range "200B" "200F" ++ range "2028" "202E" ++ range "2060" "2064" ++ range "2066" "206F"
        ++ range "FEFF" "FEFF" ++ range "FFF9" "FFFB" ++ range "FFFD" "FFFF";
    in
    map (code: {
      code = "U+${toHex4 code}";
      escape = "\\u${toHex4 code}";
      char = fromJSON "\"\\u${toHex4 code}\"";
    }) codes;
  unmeantChars = map (c: c.char) unmeantCharacters;
  unmeantNone = map (_: "") unmeantCharacters;

  # A string as an error shows it: JSON, with the characters above escaped too, so a
  # message never carries a raw line separator or a bidirectional override.
  showString = s: replaceStrings unmeantChars (map (c: c.escape) unmeantCharacters) (toJSON s);

  # The first listed character of `s` no one means in a name, as `U+2028`; null when there is none.
  # Printable ASCII holds none of them: most names are decided by one match, not by the
  # hundred-odd replacements that cost 6 µs a name (a tenth of a second at 10,000 outputs).
  # Only for a name of ordinary length: std::regex recurses once a character.
  unmeantCharacter =
    s:
    if (stringLength s <= 1024 && match "[ -~]*" s != null) || replaceStrings unmeantChars unmeantNone s == s then
      null
    else
      (head (filter (c: hasInfix c.char s) unmeantCharacters)).code;

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";
  isApp = v: isAttrs v && (v.type or null) == "app";

  # `ciActions.deployBot`, but `ciActions."deploy bot"` when a name is not an identifier.
  attrSegment = name: if match "[a-zA-Z_][a-zA-Z0-9_'-]*" name != null then name else showString name;
  child = path: name: "${path}.${attrSegment name}";
  index = path: i: "${path}[${toString i}]";

  # How a value is named in an error: enough to recognise it, never the whole of it.
  describe =
    v:
    if isString v then
      (if stringLength v > 60 then showString (substring 0 57 v + "...") else showString v)
    else if isInt v || isFloat v || isBool v || v == null then
      "${typeOf v} ${toJSON v}"
    else if isList v then
      "a list of ${toString (length v)} elements"
    else if isFunction v then
      "a function"
    else if isPath v then
      "the path ${toString v}"
    else if isDerivation v then
      let
        name = tryEval v.name;
      in
      if name.success then "the derivation ${toJSON name.value}" else "a derivation"
    else if isApp v then
      "an app"
    else
      let
        names = attrNames v;
        shown = genList (elemAt names) (min 5 (length names));
        more = if length names > 5 then ", ..." else "";
      in
      if names == [ ] then "an empty set" else "a set with attributes { ${concatStringsSep ", " shown}${more} }";

  fail = path: message: throw "${path}: ${message}";

  # Edit distance, to suggest the field or kind a typo was meant to be.
  editDistance =
    a: b:
    let
      charsA = genList (i: substring i 1 a) (stringLength a);
      charsB = genList (j: substring j 1 b) (stringLength b);
      step =
        previous: i:
        foldl' (
          row: j:
          row
          ++ [
            (min (min (elemAt previous j + 1) (last row + 1)) (
              elemAt previous (j - 1) + (if elemAt charsA (i - 1) == elemAt charsB (j - 1) then 0 else 1)
            ))
          ]
        ) [ i ] (genList (j: j + 1) (length charsB));
    in
    last (foldl' step (genList (j: j) (length charsB + 1)) (genList (i: i + 1) (length charsA)));

  didYouMean =
    word: candidates:
    let
      scored = map (c: { name = c; distance = editDistance word c; }) candidates;
      best = foldl' (b: c: if b == null || c.distance < b.distance then c else b) null scored;
    in
    if best != null && best.distance <= (if stringLength word < 6 then 1 else 2) then
      " (did you mean ${toJSON best.name}?)"
    else
      "";

  oneOf = allowed: concatStringsSep ", " allowed;

  expectSet = path: v: if isAttrs v && !isDerivation v && !isApp v then v else fail path "expected a set, got ${describe v}";
  expectList = path: v: if isList v then v else fail path "expected a list, got ${describe v}";
  expectString = path: v: if isString v then v else fail path "expected a string, got ${describe v}";
  expectName =
    path: v:
    let
      s = expectString path v;
    in
    if match "[[:space:]]*" s != null then
      fail path "expected a non-empty name, got ${describe v}"
    else if unmeantCharacter s != null then
      fail path "expected a name without control or invisible characters (found ${unmeantCharacter s}), got ${describe v}"
    else
      s;
  # Free text shown to people (labels, prompts): anything but blank.
  expectText =
    path: v:
    let
      s = expectString path v;
    in
    if match "[[:space:]]*" s != null then fail path "expected non-empty text, got ${describe v}" else s;
  expectOneOf =
    path: allowed: v:
    if isString v && elem v allowed then
      v
    else
      fail path "expected one of ${oneOf allowed}, got ${describe v}${if isString v then didYouMean v allowed else ""}";

  # An attribute name of the flake's outputs: it goes into installables and pipelines.
  expectAttrName =
    path: name:
    let
      found = unmeantCharacter name;
    in
    if found == null then
      name
    else
      fail (child path name) "expected an attribute name without control or invisible characters (found ${found}); rename it";

  # A regular expression as `builtins.match` reads it (POSIX extended, matching the
  # whole string). Nix cannot catch an invalid one, so the check carries the path
  # as error context; `tool plan` reports that context.
  expectRegex =
    path: v:
    let
      s = expectString path v;
    in
    if s == "" then
      fail path "expected a regular expression, got an empty string"
    else
      addErrorContext "while validating `${path}`" (seq (match s "") s);

  required =
    path: set: field:
    if set ? ${field} then set.${field} else fail path "missing required field ${toJSON field}";

  checkFields =
    path: allowed: set:
    let
      unknown = filter (name: !elem name allowed) (attrNames set);
      name = head unknown;
    in
    unknown == [ ] || fail (child path name) "unknown field, expected one of ${oneOf allowed}${didYouMean name allowed}";

  checkUnique =
    what: items:
    let
      names = map (item: item.name) items;
      firstPath = name: (head (filter (item: item.name == name) items)).path;
      clash = filter (item: count item.name names > 1 && firstPath item.name != item.path) items;
      item = head clash;
    in
    clash == [ ]
    || fail "${item.path}.name" "duplicate ${what} name ${toJSON item.name} (also used at ${firstPath item.name})";

  # A target is a value from the flake's outputs: a derivation, or an app whose
  # program is built by one. `nix/ci-actions.nix` turns it into an attribute path.
  expectTarget =
    path: v:
    addErrorContext "while validating `${path}`" (
      if isDerivation v then
        v
      else if isApp v then
        (if isString (v.program or null) then v else fail (child path "program") "expected the app's program as a string, got ${describe (v.program or null)}")
      else
        fail path "expected a derivation or an app ({ type = \"app\"; program = ...; }), got ${describe v}"
    );

  # `source` and `schedule` are patterns on how the build started: BUILDKITE_SOURCE
  # (webhook, ui, api, schedule, trigger_job) and a pipeline schedule's CI_SCHEDULE.
  conditionKinds = [ "branch" "tag" "source" "schedule" "changed" ];

  normaliseCondition =
    path: raw:
    let
      condition = expectSet path raw;
      kinds = attrNames condition;
      kind = head kinds;
    in
    if length kinds != 1 then
      fail path "expected a set with exactly one of ${oneOf conditionKinds}, got ${describe condition}"
    else if !elem kind conditionKinds then
      fail (child path kind) "unknown condition, expected one of ${oneOf conditionKinds}${didYouMean kind conditionKinds}"
    else if kind == "changed" then
      let
        targets = expectList (child path "changed") condition.changed;
      in
      if targets == [ ] then
        fail (child path "changed") "expected at least one target, got an empty list"
      else
        {
          inherit kind path;
          targets = forceAll (imap0 (i: expectTarget (index (child path "changed") i)) targets);
        }
    else
      {
        inherit kind path;
        pattern = expectRegex (child path kind) condition.${kind};
      };

  checkFieldNames = [ "name" "displayName" "target" ];

  normaliseCheck =
    path: raw:
    let
      check = expectSet path raw;
      name = expectName (child path "name") (required path check "name");
    in
    seq (checkFields path checkFieldNames check) {
      inherit name path;
      displayName = if check ? displayName then expectText (child path "displayName") check.displayName else name;
      target = expectTarget (child path "target") (required path check "target");
    };

  stepTypes = [ "run" "wait" "block" ];
  stepFieldNames = {
    run = [ "type" "name" "label" "target" "retries" ];
    wait = [ "type" ];
    block = [ "type" "label" "prompt" ];
  };

  expectRetries =
    path: v:
    if isInt v && v >= 0 && v <= 10 then v else fail path "expected an integer from 0 to 10, got ${describe v}";

  normaliseStep =
    path: raw:
    let
      step = expectSet path raw;
      type = expectOneOf (child path "type") stepTypes (step.type or "run");
      name = expectName (child path "name") (required path step "name");
      optionalText = field: if step ? ${field} then expectText (child path field) step.${field} else null;
    in
    seq (checkFields path stepFieldNames.${type} step) (
      if type == "run" then
        {
          inherit type name path;
          label = if step ? label then expectText (child path "label") step.label else name;
          target = expectTarget (child path "target") (required path step "target");
          retries = expectRetries (child path "retries") (step.retries or 0);
        }
      else if type == "wait" then
        { inherit type path; }
      else
        {
          inherit type path;
          label = optionalText "label";
          prompt = optionalText "prompt";
        }
    );

  actionFieldNames = [ "conditions" "checks" "builds" "deploySteps" "deploySystem" ];

  # `systems`: those the actions are declared for, which a deploy may run on.
  normaliseAction =
    path: systems: raw:
    let
      action = expectSet path raw;
      listOf = field: normalise: forceAll (imap0 (i: normalise (index (child path field) i)) (expectList (child path field) (action.${field} or [ ])));
      checks = listOf "checks" normaliseCheck;
      deploySteps = listOf "deploySteps" normaliseStep;
    in
    seq (checkFields path actionFieldNames action) (
      seq (checkUnique "check" checks) (
        seq (checkUnique "step" (filter (s: s.type == "run") deploySteps)) {
          inherit path checks deploySteps;
          conditions = listOf "conditions" normaliseCondition;
          builds = listOf "builds" expectTarget;
          # null: the planning agent's system.
          deploySystem = if action ? deploySystem then expectOneOf (child path "deploySystem") systems action.deploySystem else null;
        }
      )
    );

  normaliseActions =
    path: systems: raw:
    let
      actions = expectSet path raw;
      normalised = genAttrs (attrNames actions) (
        name: seq (expectName (child path name) name) (normaliseAction (child path name) systems actions.${name})
      );
    in
    foldl' (acc: name: seq normalised.${name} acc) normalised (attrNames normalised);

  # The systems a flake has outputs for: the default for `mkActions`' `systems`.
  systemsOf =
    flake:
    unique (concatMap (kind: if isAttrs (flake.${kind} or null) then attrNames flake.${kind} else [ ]) [
      "packages"
      "apps"
      "checks"
      "devShells"
    ]);

  mkActionsArgs = [ "self" "actions" "systems" ];

  self = {
    /**
      Declare a flake's CI actions.

      # Inputs

      `self`
      : The flake itself (its `self` argument): targets must be reachable from its outputs.

      `actions`
      : An attribute set of actions, or a function `{ system }: actions`. Each action has
        `conditions` (all must hold), `checks`, `builds`, `deploySteps` and `deploySystem` (one of
        `systems`, which the deploy runs on; by default the planning agent's); see `docs/mkActions.md`.

      `systems`
      : Optional. The systems to declare actions for; by default every system the flake
        has packages, apps, checks or devShells for.

      # Type

      ```
      mkActions :: { self :: Flake, actions :: Actions | ({ system :: String } -> Actions), systems ? [String] } -> CiActions
      ```

      # Examples
      :::{.example}
      ## `ci.lib.mkActions` usage example

      ```nix
      ciActions = ci.lib.mkActions {
        inherit self;
        actions = { system }: {
          deployBot = {
            conditions = [ { branch = "master"; } ];
            deploySteps = [ { name = "deploy"; target = self.apps.${system}.deploy; } ];
          };
        };
      };
      ```
      :::
    */
    mkActions =
      args:
      let
        checked = seq (checkFields "mkActions" mkActionsArgs (expectSet "mkActions" args)) args;
        flake = required "mkActions" checked "self";
        actions = required "mkActions" checked "actions";
        systems = if checked ? systems then map (expectString "mkActions.systems") (expectList "mkActions.systems" checked.systems) else systemsOf flake;
        forSystem =
          system:
          addErrorContext "while evaluating ciActions for ${system}" (
            normaliseActions "ciActions" systems (optionalCall actions { inherit system; })
          );
      in
      genAttrs systems forSystem
      // {
        _type = "ci-actions";
        _version = 1;
      };

    /**
      Condition helpers: the same data as the plain attribute sets.

      # Examples
      :::{.example}
      ```nix
      conditions = with ci.lib.conditions; [ (branch "master") (tag "v.*") (changed [ self.packages.${system}.bot ]) ];
      ```
      :::
    */
    conditions = {
      # The branch matches the regular expression (the whole name). On a tag build: the tagged commit is on a matching remote branch.
      branch = pattern: { branch = pattern; };
      # The build is for a tag that matches the regular expression (the whole name).
      tag = pattern: { tag = pattern; };
      # How the build started (BUILDKITE_SOURCE: webhook, ui, api, schedule, trigger_job) matches the regular expression.
      source = pattern: { source = pattern; };
      # The build comes from a pipeline schedule whose environment sets CI_SCHEDULE to a matching name.
      schedule = pattern: { schedule = pattern; };
      # Some listed target's output path differs between the base and head commits (or a build forces the action).
      changed = targets: { changed = targets; };
    };

    /**
      Deploy step helpers: the same data as the plain attribute sets.

      # Examples
      :::{.example}
      ```nix
      deploySteps = with ci.lib.steps; [
        (run { name = "staging"; target = self.apps.${system}.deploy-staging; })
        block
        (run { name = "production"; target = self.apps.${system}.deploy-production; retries = 1; })
      ];
      ```
      :::
    */
    steps = {
      # Run an app: { name, target, label ? name, retries ? 0 }.
      run = step: { type = "run"; } // step;
      # Wait for every earlier step to pass.
      wait = { type = "wait"; };
      # Stop until a person unblocks the build; add `label` or `prompt` with `//`.
      block = { type = "block"; };
    };

    /**
      The fields `mkActions` accepts, as data: docs/mkActions.md is checked against it.
    */
    schema = {
      mkActions = mkActionsArgs;
      action = actionFieldNames;
      conditions = conditionKinds;
      check = checkFieldNames;
      steps = stepFieldNames;
    };

    # Used by nix/ci-actions.nix: for flakes that write `ciActions` as a plain
    # attribute set, and to refuse output names no one means.
    inherit normaliseActions expectAttrName;
  };
in
self
