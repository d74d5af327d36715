// What deploying to another process manager needs from it: where its files go, and how to start,
// stop and ask about one process through the manager's own tool. Each start returns when the
// process is ready; each stop when it is gone.
import type { GeneratedFile, GeneratorOptions } from "../../../generators/types.js";
import type { ResolvedProcess } from "../../model/types.js";

export interface StartRequest {
  readonly process: ResolvedProcess;
  /** Its files changed since it last ran (launchd: bootstrap again rather than kickstart). */
  readonly filesChanged: boolean;
  /** It runs now and must be restarted. */
  readonly running: boolean;
}

export interface ManagerAdapter {
  readonly manager: "systemd" | "launchd" | "supervisord" | "sysvinit";
  /** Where the generated files are installed. */
  readonly dir: string;
  readonly generatorOptions: GeneratorOptions;
  /** The generated files that belong to one process (what decides whether it changed). */
  filesOf(files: readonly GeneratedFile[], name: string): GeneratedFile[];
  /** After new files are in place, before anything starts (daemon-reload, reread…). */
  afterInstall(names: readonly string[], removed: readonly string[]): Promise<void>;
  start(request: StartRequest): Promise<void>;
  stop(name: string): Promise<void>;
  running(name: string): Promise<boolean>;
}
