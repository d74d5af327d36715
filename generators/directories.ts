// The directories a deployment needs before anything starts: the log and PID file directories
// (the manager's own: created when missing, never changed) and each process's stateDirectory and
// runtimeDirectory (owned by its user and group, with its mode). Only the last component of a
// process's directory is ever chowned, never recursively: a service can plant symlinks in its own
// directory, never in the manager's above it. Pure.
import path from "node:path";
import type { ResolvedModel } from "../src/model/types.js";
import { shQuote } from "./quote.js";

export interface NeededDirectory {
  /** Absolute. */
  readonly path: string;
  /** Set for a process's own directory; undefined: the manager's, left as it is when it exists. */
  readonly owner?: {
    readonly process: string;
    readonly user: string | undefined;
    /** Undefined with a user: the user's primary group (as systemd's User= does). */
    readonly group: string | undefined;
    /** Octal, four digits. */
    readonly mode: string;
  };
}

/**
 * Every directory the model's processes need, parents before children, each path once. With
 * `ignoreOwners` (a manager that cannot switch users: systemd user units) a process's own directory
 * keeps its mode but is owned by whoever runs the manager. Conflicting claims are returned as issues.
 */
export function neededDirectories(model: ResolvedModel, options: { ignoreOwners?: boolean } = {}): { dirs: NeededDirectory[]; issues: string[] } {
  const byPath = new Map<string, NeededDirectory>();
  const issues: string[] = [];
  for (const spec of model.processes) {
    const logDir = path.dirname(spec.logFile);
    if (!byPath.has(logDir)) byPath.set(logDir, { path: logDir });
    const pidDir = path.dirname(spec.pidFile);
    if (!byPath.has(pidDir)) byPath.set(pidDir, { path: pidDir });
  }
  for (const spec of model.processes) {
    if (spec.stateDirectory === undefined && spec.runtimeDirectory === undefined) continue;
    for (const [field, managed] of [["stateDirectory", spec.stateDirectory], ["runtimeDirectory", spec.runtimeDirectory]] as const) {
      if (managed === undefined) continue;
      const owner = {
        process: spec.name,
        user: options.ignoreOwners === true ? undefined : spec.user,
        group: options.ignoreOwners === true ? undefined : spec.group,
        mode: managed.mode,
      };
      const existing = byPath.get(managed.path)?.owner;
      if (existing !== undefined && (existing.user !== owner.user || existing.group !== owner.group || existing.mode !== owner.mode)) {
        issues.push(`${spec.name}: ${field} ${managed.path} is also ${existing.process}'s, with another owner or mode`);
        continue;
      }
      byPath.set(managed.path, { path: managed.path, owner });
    }
  }
  // Each depth counted once, not in every comparison.
  const keyed = [...byPath.values()].map((dir) => ({ dir, depth: depth(dir.path) }));
  keyed.sort((a, b) => a.depth - b.depth || (a.dir.path < b.dir.path ? -1 : a.dir.path > b.dir.path ? 1 : 0));
  return { dirs: keyed.map(({ dir }) => dir), issues };
}

/** The number of "/"-separated parts (as dir.split("/").length). */
function depth(dir: string): number {
  let count = 1;
  for (let index = dir.indexOf("/"); index !== -1; index = dir.indexOf("/", index + 1)) count++;
  return count;
}

/**
 * POSIX sh functions that create the directories (for the targets that run a script: sysvinit, the
 * setup script of supervisord and launchd). As root, a process's directory gets its owner (the
 * last component only, `chown -h`, once it is known to be no symlink); otherwise whoever runs the
 * script owns everything. The directory above a process's own is the manager's, so the service
 * cannot swap the checked directory for a link.
 */
export function directoryFunctions(): string[] {
  return [
    "# The manager's directories: created when missing, never changed.",
    "procman_manager_dir() {",
    '  [ -d "$1" ] || mkdir -p -- "$1" || { echo "procman: cannot create $1" >&2; return 1; }',
    "}",
    "# A process's own directory: its mode, and (as root) its owner; never a symlink, never recursive.",
    "procman_process_dir() {",
    '  procman_manager_dir "$(dirname -- "$1")" || return 1',
    '  if [ -L "$1" ] || { [ -e "$1" ] && [ ! -d "$1" ]; }; then echo "procman: $1 exists and is not a directory" >&2; return 1; fi',
    '  [ -d "$1" ] || mkdir -- "$1" || [ -d "$1" ] || { echo "procman: cannot create $1" >&2; return 1; }',
    '  if [ -n "$3" ] && [ "$(id -u)" -eq 0 ]; then',
    '    if [ -n "$4" ]; then chown -h -- "$3:$4" "$1" || return 1',
    '    else chown -h -- "$3:$(id -g "$3")" "$1" || return 1; fi',
    "  fi",
    '  chmod -- "$2" "$1"',
    "}",
  ];
}

/** One call of those functions per directory, parents first; `onError` ends the caller ("exit 1", "return 1"). */
export function directoryCalls(dirs: readonly NeededDirectory[], onError = "exit 1"): string[] {
  return dirs.map((dir) => {
    if (dir.owner === undefined) return `procman_manager_dir ${shQuote(dir.path)} || ${onError}`;
    const { user, group, mode } = dir.owner;
    return `procman_process_dir ${[dir.path, mode, user ?? "", group ?? ""].map(shQuote).join(" ")} || ${onError}`;
  });
}
