// Options shared by several commands, and how they become a state dir and a context.
import os from "node:os";
import path from "node:path";
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_LOAD_TIMEOUT_SECONDS } from "../loader/load-guard.js";
import { defaultStateDir } from "../model/context.js";
import { PROCESS_MANAGERS, type ProcessManagerName } from "../model/types.js";
import { UsageError } from "../errors.js";
import type { ResolveOptions } from "../resolve-model.js";

export interface CommonOptions {
  stateDir?: string;
  processManager?: ProcessManagerName;
  forceDisableUserChange?: boolean;
  json?: boolean;
  /** Seconds, parsed by loadTimeoutOption; commands without the option leave it unset. */
  loadTimeout?: number;
}

export const stateDirOption = () =>
  new Option("--state-dir <dir>", "state directory (default: $PROCMAN_STATE_DIR, /var for root, else $XDG_STATE_HOME/procman)").argParser(parsePath);

/**
 * A directory or file argument. "" (an unset shell variable: `--state-dir "$DIR"`) must not
 * resolve to the default (/var as root) or to the working directory.
 */
export function parsePath(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty (an unset shell variable?)");
  return value;
}

/** --lock-timeout (or PROCMAN_LOCK_TIMEOUT): 0 (do not wait) or more seconds; Number("") would be 0. */
export function lockWaitSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--lock-timeout must be a number of seconds, 0 or more (got ${JSON.stringify(value)})`);
  }
  return seconds;
}
export const processManagerOption = (managers: readonly string[] = PROCESS_MANAGERS) =>
  new Option("-P, --process-manager <manager>", "process manager to target").choices(managers);
export const forceDisableUserChangeOption = () =>
  new Option("--force-disable-user-change", "ignore user and group (for unprivileged deployments)");
export const jsonOption = () => new Option("--json", "machine-readable output");
/**
 * For every command that loads a model (switch, up, validate, generate, visualize): how long a model
 * may stay unsettled while it keeps work scheduled. One that drains the event loop fails at once.
 */
export const loadTimeoutOption = () =>
  new Option("--load-timeout <seconds>", "how long a model may take to load before it is refused (exit 2)")
    .env("PROCMAN_LOAD_TIMEOUT")
    .default(DEFAULT_LOAD_TIMEOUT_SECONDS)
    .argParser(parseSeconds);

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError("must be a positive number of seconds");
  return seconds;
}

export function resolveStateDir(flag: string | undefined): string {
  if (flag !== undefined && flag.trim() === "") throw new UsageError("--state-dir must not be empty (an unset shell variable?)");
  const chosen = flag ?? process.env.PROCMAN_STATE_DIR;
  // `PROCMAN_STATE_DIR=$DIR procman stop` with DIR unset must not stop what runs in /var.
  if (chosen !== undefined && chosen.trim() === "") throw new UsageError("PROCMAN_STATE_DIR is set but empty (an unset shell variable?); unset it or name a directory");
  const dir = chosen !== undefined ? path.resolve(chosen) : defaultStateDir(process.env, process.getuid?.() ?? 1000, os.homedir());
  // Every path procman writes into unit files, scripts and tags starts with it: a line break would
  // become another path (systemd reads it as a space), another setting, or another line.
  if (/[\u0000-\u001f\u007f]/.test(dir)) throw new UsageError(`the state dir must not contain control characters (got ${JSON.stringify(dir)})`);
  return dir;
}

export function resolveOptions(options: CommonOptions, fallbackManager: ProcessManagerName = "direct"): ResolveOptions {
  return {
    stateDir: resolveStateDir(options.stateDir),
    forceDisableUserChange: options.forceDisableUserChange ?? false,
    processManager: options.processManager ?? fallbackManager,
    ...(options.loadTimeout !== undefined ? { loadTimeout: options.loadTimeout } : {}),
  };
}
