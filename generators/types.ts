// What every generator returns: files to write (relative paths), and what it could not carry.
import type { ResolvedModel } from "../src/model/types.js";

export interface GeneratedFile {
  /** Relative to the output directory. */
  readonly path: string;
  readonly contents: string;
  /** Octal file mode, e.g. 0o755 for scripts. */
  readonly mode: number;
  /** When set, the file is a symbolic link to this target (relative to the link's directory). */
  readonly symlink?: string;
}

/**
 * What a deployer needs besides the files. Every path in `processFiles` and `sharedFiles` is one of
 * `files`; together they list each file exactly once.
 */
export interface GeneratorOutput {
  readonly files: readonly GeneratedFile[];
  /** Fields the target cannot express, said on stderr; generation still succeeds. */
  readonly warnings: readonly string[];
  /**
   * Per process name: the paths of the files that belong to it alone (its unit and environment file,
   * its plist, its program file, its init script and rc.d links). A change of these restarts only it
   * — except under supervisord, which reloads the whole group P when one program's file changed.
   */
  readonly processFiles: Readonly<Record<string, readonly string[]>>;
  /**
   * Files every process shares (systemd's target, directories unit and tmpfiles snippet,
   * supervisord.conf, the directory setup script): a change of these restarts nothing by itself,
   * but they must be installed before any process starts.
   */
  readonly sharedFiles: readonly string[];
  /**
   * Per process name: what the target manager calls it (systemd unit `P-web.service`, launchd label
   * `org.P.web`, supervisorctl `P:web`, init script `P-web`).
   */
  readonly names: Readonly<Record<string, string>>;
  /**
   * Human-readable install steps, in order, for someone installing the files by hand from the
   * directory they were written to (`installDir`); `procman generate` prints them.
   */
  readonly steps: readonly string[];
}

export interface GeneratorOptions {
  /** systemd: units for a user manager (`systemctl --user`), which cannot switch User=. */
  readonly userUnits?: boolean;
  /**
   * Namespace of every generated name (default "procman"): systemd `P-<name>.service` and
   * `P.target`, sysvinit `P-<name>`, launchd `org.P.<name>`, supervisord programs in group `P`.
   */
  readonly prefix?: string;
  /** systemd: the version units are written for (default 252); newer directives are left out. */
  readonly systemdVersion?: number;
  /**
   * Absolute directory the files will be installed into, where one generated file must name
   * another by its absolute path (systemd's EnvironmentFile= and tmpfiles snippet, the setup
   * scripts). Default: `${stateDir}/lib/procman/<manager>`, where `procman switch` installs them.
   */
  readonly installDir?: string;
  /**
   * supervisord: start the programs when supervisord starts (default true, with priorities by
   * layer). `procman switch` sets false: it starts each one itself, after what it activatesAfter is
   * ready, which supervisord cannot wait for.
   */
  readonly autostart?: boolean;
  /**
   * supervisord: keep what a program runs (argv, environment, identity) in a per-process script
   * `P-name.run` that the program section only names. supervisord's `update` replaces a whole
   * group when any program section in it changes; with the sections stable, a change of one
   * process's command restarts only that process. `procman switch` sets it.
   */
  readonly stableSections?: boolean;
}

export type Generator = (model: ResolvedModel, options?: GeneratorOptions) => GeneratorOutput;

/** The generated result would run something other than what was declared: refuse (exit 2). */
export class GeneratorError extends Error {
  readonly code = "EGENERATE";
  readonly exitCode = 2;
  constructor(readonly manager: string, readonly issues: readonly string[]) {
    super(`cannot generate ${manager} configuration:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
  }
}
