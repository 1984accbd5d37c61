/**
  What `tool build`, `tool check` and `tool deploy` need to know of their targets,
  applied (`nix eval --apply`) to one top-level output of a flake, for example
  `.#packages`, so Nix evaluates the flake as it would for `nix build`.

  # Inputs

  `paths`
  : Attribute paths below that output, for example `[ [ "x86_64-linux" "bot" ] ]`.

  `strict`
  : Let an error escape, so Nix reports it in its own words (for one path whose
    description threw).

  `root`
  : The output.

  # Type

  ```
  targets :: { paths :: [[String]], strict :: Bool } -> AttrSet -> [{ kind, ... }]
  ```

  A derivation gives its `drvPath`, `name`, output paths and the program `nix run`
  would start; an app gives its program and the derivations behind it. A missing
  attribute, or one that throws, is reported instead of failing the rest.
*/
{
  paths,
  strict ? false,
}:
root:
let
  inherit (builtins)
    attrNames
    getContext
    head
    isAttrs
    listToAttrs
    map
    parseDrvName
    tail
    tryEval
    typeOf
    unsafeDiscardStringContext
    ;

  walk =
    value: path:
    if path == [ ] then
      { found = true; inherit value; }
    else if isAttrs value && value ? ${head path} then
      walk value.${head path} (tail path)
    else
      { found = false; };

  describe =
    value:
    if (value.type or null) == "derivation" then
      {
        kind = "derivation";
        drvPath = unsafeDiscardStringContext value.drvPath;
        inherit (value) name;
        outputs = listToAttrs (
          map (output: {
            name = output;
            value = unsafeDiscardStringContext value.${output}.outPath;
          }) (value.outputs or [ "out" ])
        );
        mainProgram = value.meta.mainProgram or value.pname or (parseDrvName value.name).name;
      }
    else if (value.type or null) == "app" then
      {
        kind = "app";
        program = unsafeDiscardStringContext value.program;
        derivations = attrNames (getContext value.program);
      }
    else
      {
        kind = "other";
        type = typeOf value;
      };

  target =
    path:
    let
      found = walk root path;
      # A throw (a package marked broken, say) is reported; Nix cannot catch other errors.
      forced = builtins.deepSeq (describe found.value) (describe found.value);
      described = if strict then { success = true; value = forced; } else tryEval forced;
    in
    if !found.found then
      { kind = "missing"; }
    else if described.success then
      described.value
    else
      { kind = "throws"; };
in
map target paths
