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

export interface GeneratorOutput {
  readonly files: readonly GeneratedFile[];
  /** Fields the target cannot express, said on stderr; generation still succeeds. */
  readonly warnings: readonly string[];
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
