import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/**
 * Fixture flakes: git repositories with several commits, whose `ci` input is the
 * library snapshot of this test run. Targets build with `builtins.derivation` and
 * `/bin/sh`, so nothing is fetched.
 */

export interface FlakeSpec {
  /**
   * Nix attributes of the flake's outputs. In scope: `drv name [ parts ]` and `sh name script`
   * (derivations), `app name` and `cmd name script` (apps), `p` (packages) and `a` (apps).
   */
  readonly outputs: string
  /** The `ciActions` output's value, when there is one. */
  readonly ciActions?: string
}

export const fixtureFlake = (spec: FlakeSpec): string => `{
  inputs.ci.url = "github:denbeigh2000/ci";
  inputs.ci.inputs.nixpkgs.follows = "";
  outputs = { self, ci }:
    let
      system = "x86_64-linux";
      p = self.packages.x86_64-linux;
      a = self.apps.x86_64-linux;
      # A derivation whose output path changes with every part (other derivations included).
      drv = name: parts: builtins.derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "echo \${toString parts} > $out" ];
      };
      app = name: { type = "app"; program = "\${drv name [ name ]}/bin/\${name}"; };
      # A derivation built by a shell script, with coreutils from the host (no sandbox here).
      sh = name: script: builtins.derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" script ];
        PATH = "/bin:/usr/bin";
      };
      # An app that runs a shell script.
      cmd = name: body: {
        type = "app";
        program = "\${sh name "mkdir -p $out/bin; cp \${builtins.toFile "\${name}.sh" "#!/bin/sh\n\${body}\n"} $out/bin/\${name}; chmod +x $out/bin/\${name}"}/bin/\${name}";
      };
    in {
${spec.outputs}
${spec.ciActions === undefined ? "" : `      ciActions = ${spec.ciActions};`}
    };
}
`

export class FixtureRepo {
  readonly dir: string
  private readonly ciSnapshot: string

  constructor(dir: string, ciSnapshot: string) {
    this.dir = dir
    this.ciSnapshot = ciSnapshot
  }

  static create(ciSnapshot: string, branch = "master", dir = mkdtempSync(join(tmpdir(), "ci-fixture-"))): FixtureRepo {
    const repo = new FixtureRepo(dir, ciSnapshot)
    repo.git("init", "--quiet", "--initial-branch", branch)
    repo.git("config", "user.email", "test@example.com")
    repo.git("config", "user.name", "Test")
    repo.git("config", "commit.gpgsign", "false")
    return repo
  }

  /** A new repository holding a copy of `source` (the example, the template), nothing committed yet. */
  static copyOf(ciSnapshot: string, source: string, branch: string): FixtureRepo {
    const dir = join(mkdtempSync(join(tmpdir(), "ci-fixture-")), "repo")
    cpSync(source, dir, { recursive: true })
    const repo = FixtureRepo.create(ciSnapshot, branch, dir)
    repo.git("add", "--all")
    return repo
  }

  git(...args: ReadonlyArray<string>): string {
    return execFileSync("git", ["-C", this.dir, ...args], { encoding: "utf8" }).trim()
  }

  write(files: Readonly<Record<string, string>>): void {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, name)), { recursive: true })
      writeFileSync(join(this.dir, name), content)
    }
  }

  /** Lock the `ci` input of the flake in `flakeDir` to the library snapshot. */
  lock(flakeDir = "."): void {
    execFileSync("nix", ["flake", "lock", "--override-input", "ci", `path:${this.ciSnapshot}`], {
      cwd: join(this.dir, flakeDir),
      stdio: ["ignore", "ignore", "pipe"]
    })
  }

  /** A bare repository as `origin`, so remote branches can be pushed and fetched. */
  addOrigin(): void {
    const origin = mkdtempSync(join(tmpdir(), "ci-origin-"))
    execFileSync("git", ["init", "--quiet", "--bare", origin])
    this.git("remote", "add", "origin", origin)
  }

  /** Push branches to origin and fetch them back, as a CI checkout sees them. */
  publish(...branches: ReadonlyArray<string>): void {
    this.git("push", "--quiet", "origin", ...branches)
    this.git("fetch", "--quiet", "origin")
  }

  /** Write files, lock when a flake.nix has no lock yet, commit everything; returns the sha. */
  commit(message: string, files: Readonly<Record<string, string>> = {}): string {
    this.write(files)
    this.git("add", "--all")
    for (const name of Object.keys(files)) {
      if (name.endsWith("flake.nix")) {
        const flakeDir = dirname(name)
        const locked = this.git("ls-files", join(flakeDir, "flake.lock")) !== ""
        if (!locked) {
          this.lock(flakeDir)
          this.git("add", "--all")
        }
      }
    }
    this.git("commit", "--quiet", "--allow-empty", "--message", message)
    return this.git("rev-parse", "HEAD")
  }
}
