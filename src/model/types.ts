// The processes model: a loose input type (what users write, in TS, YAML or JSON) and a readonly
// resolved type (what every later stage consumes). Field names follow the Nix process management
// framework so that its processes models translate one to one.

export const PROCESS_MANAGERS = ["direct", "supervisord", "sysvinit", "systemd", "launchd"] as const;
export type ProcessManagerName = (typeof PROCESS_MANAGERS)[number];

/** What a model function receives; every path is absolute. */
export interface ProcessContext {
  readonly stateDir: string;
  readonly runtimeDir: string;
  readonly logDir: string;
  readonly tmpDir: string;
  readonly cacheDir: string;
  readonly forceDisableUserChange: boolean;
  readonly processManager: ProcessManagerName;
  /** Directory of the model file (procman's extension of the Nix context). */
  readonly modelDir: string;
}

/** When a process counts as ready. Exactly one kind, plus an optional timeout and poll interval. */
export interface ReadinessInput {
  /** Ready once the PID file exists and names a live process (the default for daemons). */
  pidFile?: boolean;
  /**
   * Ready once a LISTEN socket on host:port belongs to the process (its group, session or a process
   * carrying its tag) and a connection succeeds (host defaults to 127.0.0.1). `owned: false` accepts
   * any listener (a proxy, socket activation).
   */
  tcp?: { port: number; host?: string; owned?: boolean };
  /** Ready once a GET of url answers with status (default 200). */
  http?: { url: string; status?: number };
  /** Ready once this shell command exits 0 (run with the process's environment). */
  command?: string;
  /** Ready once a line of the process's log matches this regular expression. */
  logLine?: string;
  /** Ready once this file exists (a file left from an earlier run or a symlink never counts). */
  file?: string;
  /** s6-style: ready once the process writes a line ending in "\n" to this descriptor (>= 3). */
  notify?: number;
  /** Seconds to wait for readiness before the start counts as failed (default 30). */
  timeout?: number;
  /** Seconds between two checks (default 0.1). */
  interval?: number;
}

export interface StopInput {
  /** Signal that asks the process to stop (default SIGTERM); "TERM" and "SIGTERM" are both accepted. */
  signal?: string;
  /** Seconds to wait after the stop signal before SIGKILL (default 10). */
  timeout?: number;
  /** Signal that asks the process to reload its configuration (default SIGHUP). */
  reloadSignal?: string;
}

export const RESTART_POLICIES = ["no", "on-failure", "always"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export interface RestartInput {
  policy?: RestartPolicy;
  /** Seconds between an exit and the first restart (default 1); doubles on consecutive failures. */
  delay?: number;
  /** Seconds the doubling delay stops at (default 30); staying up this long resets it. */
  maxDelay?: number;
  /** More than `burst` restarts within `interval` seconds: the process is `failed` (default 5 in 60). */
  limit?: { burst?: number; interval?: number };
}

/** When a running process counts as hung: exactly one kind, checked once it is ready. */
export interface LivenessInput {
  tcp?: { port: number; host?: string };
  http?: { url: string; status?: number };
  /** Healthy while this shell command exits 0 (run as the process runs). */
  command?: string;
  /** Healthy while the process's log grew within the last this many seconds. */
  logWithin?: number;
  /** Seconds between checks (default 10). */
  interval?: number;
  /** Seconds one check may take (default 5). */
  timeout?: number;
  /** Consecutive failed checks before the process is stopped and restarted (default 3). */
  failures?: number;
}

export interface LogInput {
  /** Bytes (a number) or a size such as "10M", "512K", "1G"; 0 disables rotation (default 10 MiB). */
  maxSize?: number | string;
  /** Rotated files kept: NAME.log.1 (newest) … NAME.log.<keep> (default 3). */
  keep?: number;
}

/** A directory procman creates before the start, owned by the process's user and group. */
export type DirectoryInput = string | { path: string; mode?: string };

/** Raw per-manager settings, merged by each generator into its own output. */
export interface OverridesInput {
  systemd?: Record<string, Record<string, OverrideValue>>;
  launchd?: Record<string, unknown>;
  supervisord?: Record<string, OverrideValue>;
  sysvinit?: Record<string, OverrideValue>;
  direct?: Record<string, unknown>;
}
export type OverrideValue = string | number | boolean | readonly (string | number | boolean)[];

/** A dependency: another process object (from createManagedProcess) or its name. */
export type DependencyRef = string | ManagedProcessInput;

/** The loose input type: what users write. Everything is checked by validation. */
export interface ManagedProcessInput {
  /** Unique, [A-Za-z0-9_.-]; may be left out when the model is a mapping (the key is the name). */
  name?: string;
  description?: string;
  /** One executable for both modes. */
  process?: string;
  /** Arguments for every mode, unless foregroundProcessArgs / daemonArgs say otherwise. */
  args?: readonly string[];
  foregroundProcess?: string;
  foregroundProcessArgs?: readonly string[];
  daemon?: string;
  daemonArgs?: readonly string[];
  pidFile?: string;
  environment?: Readonly<Record<string, string>>;
  path?: readonly string[];
  directory?: string;
  /** Octal string such as "022" (a number would be ambiguous: YAML reads 022 as twenty-two). */
  umask?: string;
  nice?: number;
  user?: string;
  group?: string;
  /** Shell snippet run before the start, with the process's environment. */
  initialize?: string;
  activatesAfter?: readonly DependencyRef[] | Readonly<Record<string, DependencyRef>>;
  readiness?: ReadinessInput;
  stop?: StopInput;
  restart?: RestartPolicy | RestartInput;
  liveness?: LivenessInput;
  log?: LogInput;
  /** Shell snippet run when the process becomes failed or unhealthy (PROCMAN_PROCESS names it). */
  onFailure?: string;
  /** Relative: under ${stateDir}/lib/; absolute: as it is. Never under lib/procman, never "..". */
  stateDirectory?: DirectoryInput;
  /** Relative: under ${runtimeDir}/; absolute: as it is. */
  runtimeDirectory?: DirectoryInput;
  overrides?: OverridesInput;
}

/** What a model file exports (or a model function returns). */
export type ProcessesInput =
  | readonly ManagedProcessInput[]
  | Readonly<Record<string, ManagedProcessInput>>;
export type ProcessesModelInput =
  | ProcessesInput
  | ((context: ProcessContext) => ProcessesInput | Promise<ProcessesInput>);

// ---- resolved ----

export interface Command {
  readonly executable: string;
  readonly args: readonly string[];
}

interface ReadinessTiming {
  /** Seconds. */
  readonly timeout: number;
  /** Seconds. */
  readonly interval: number;
}
export type Readiness = ReadinessTiming &
  (
    | { readonly kind: "started" }
    | { readonly kind: "pidFile"; readonly path: string }
    | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly owned: boolean }
    | { readonly kind: "http"; readonly url: string; readonly status: number }
    | { readonly kind: "command"; readonly command: string }
    | { readonly kind: "logLine"; readonly pattern: string }
    | { readonly kind: "file"; readonly path: string }
    | { readonly kind: "notify"; readonly fd: number }
  );

export type Liveness = {
  /** Seconds. */
  readonly interval: number;
  /** Seconds. */
  readonly timeout: number;
  readonly failures: number;
} & (
  | { readonly kind: "tcp"; readonly host: string; readonly port: number }
  | { readonly kind: "http"; readonly url: string; readonly status: number }
  | { readonly kind: "command"; readonly command: string }
  | { readonly kind: "logWithin"; readonly seconds: number }
);

export interface RestartSettings {
  readonly policy: RestartPolicy;
  /** Seconds. */
  readonly delay: number;
  /** Seconds. */
  readonly maxDelay: number;
  readonly limit: { readonly burst: number; readonly interval: number };
}

export interface ManagedDirectory {
  /** Absolute. */
  readonly path: string;
  /** Octal string, four digits ("0700"). */
  readonly mode: string;
}

export type ProcessMode = "foreground" | "daemon";

export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export interface ResolvedProcess {
  readonly name: string;
  readonly description: string | undefined;
  /** How to run it in the foreground (procman or the target manager daemonizes it), if it can. */
  readonly foreground: Command | undefined;
  /** How to run it as a self-daemonizing program, if it can. */
  readonly daemon: Command | undefined;
  /** The mode used when a manager can do both: foreground when available (its PID is known for sure). */
  readonly mode: ProcessMode;
  readonly pidFile: string;
  readonly logFile: string;
  /** The exact environment, PATH included (path entries first, then the declared or minimal PATH). */
  readonly environment: Readonly<Record<string, string>>;
  readonly path: readonly string[];
  readonly directory: string | undefined;
  /** Octal string, four digits ("0022"). */
  readonly umask: string | undefined;
  readonly nice: number | undefined;
  /** Left out when forceDisableUserChange is set. */
  readonly user: string | undefined;
  readonly group: string | undefined;
  readonly initialize: string | undefined;
  /** Names, in declaration order. */
  readonly activatesAfter: readonly string[];
  readonly readiness: Readiness;
  readonly stop: { readonly signal: string; readonly timeout: number; readonly reloadSignal: string };
  readonly restart: RestartSettings;
  readonly liveness: Liveness | undefined;
  /** Bytes; maxSize 0: never rotated. */
  readonly log: { readonly maxSize: number; readonly keep: number };
  readonly onFailure: string | undefined;
  readonly stateDirectory: ManagedDirectory | undefined;
  readonly runtimeDirectory: ManagedDirectory | undefined;
  readonly overrides: DeepReadonly<OverridesInput>;
}

/** Each process and the names it activatesAfter: all the graph needs. */
export interface DependencyEdges {
  readonly name: string;
  readonly activatesAfter: readonly string[];
}

export interface ResolvedModel {
  readonly context: ProcessContext;
  /** In declaration order. */
  readonly processes: readonly ResolvedProcess[];
}
