// What deploying to another process manager needs from that manager: where its files go, which
// names it already knows, and how to start, stop and ask about one process through its own tool.
// Each start returns when the process is ready; each stop when it is gone. The transaction and the
// install record (managed.ts) do the rest, the same for every manager.
import type { GeneratedFile, GeneratorOptions } from "../../../generators/types.js";
import type { ResolvedProcess } from "../../model/types.js";

export interface ToolStart {
  readonly spec: ResolvedProcess;
  /** Runs now with unchanged files: restart in place (launchd kickstart -k, systemctl restart). */
  readonly restartInPlace: boolean;
}

/** A link procman makes into the manager's search path, to a file it installed. */
export interface PlannedLink {
  /** Absolute. */
  readonly path: string;
  readonly target: string;
  readonly owner?: string;
}

export interface ManagerAdapter {
  readonly manager: "systemd" | "launchd" | "supervisord" | "sysvinit";
  /** Where the generated files are installed. */
  readonly dir: string;
  readonly generatorOptions: GeneratorOptions;
  /**
   * Its programs get PROCMAN_TAG as procman's own spawns do (supervisord, sysvinit: they run on
   * this host's /proc): what outlives the manager (supervisord killed) is found and stopped.
   */
  readonly tagsProcesses?: boolean;
  /** Why the manager cannot be used on this machine (checked before anything changes), if it cannot. */
  unavailable?(): string | undefined;
  /** Links into the manager's search path for the installed files (systemd as root). */
  links(files: readonly GeneratedFile[]): PlannedLink[];
  /**
   * Every place the manager would also find a name of these files (other unit directories, an
   * alias): anything there that is not procman's is a collision.
   */
  namesakes(files: readonly GeneratedFile[]): string[];
  /**
   * Shared files (relative paths) whose change restarts every process under the manager (supervisord's group: its
   * `update` restarts the whole group when the member list changes).
   */
  restartsAll?(files: readonly GeneratedFile[]): string[];
  /** After files changed, before anything starts (daemon-reload, reread…). */
  reload(removedNames: readonly string[], empty: boolean): Promise<void>;
  /** Starts these together (one layer); resolves when all are ready. */
  start(requests: readonly ToolStart[]): Promise<void>;
  stop(name: string): Promise<void>;
  running(name: string): Promise<boolean>;
  /** running() with the main PID the manager knows for it, in one question (where the tool tells it). */
  runningPid?(name: string): Promise<{ readonly running: boolean; readonly pid?: number }>;
  /** Sends the reload signal through the manager's tool. */
  signal?(name: string, signal: string): Promise<void>;
  /** Ends the manager's own daemon, when procman started one for this state dir. */
  shutdown?(): Promise<void>;
}
