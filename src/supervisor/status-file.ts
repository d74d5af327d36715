// Supervision status on disk: one JSON file, replaced atomically on every change, so that `status`
// reads it without asking the supervisor and a new supervisor resumes the backoff where the old left.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../executor/atomic.js";
import { FRESH, type BackoffState, type ExitReason } from "./policy.js";
import { supervisorPaths } from "./paths.js";

export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly reason: ExitReason;
}

export type Health = "healthy" | "unhealthy" | "unknown";
/** "starting": restarted by the supervisor, its readiness not passed yet. */
export type SupervisionState = "backoff" | "starting" | "failed" | "stopped";

/** What `status` shows per process. */
export interface SupervisionStatus {
  /** Restarts by the supervisor since the last switch, start or restart of the process. */
  restarts: number;
  lastExit: LastExit | null;
  /** null: the process has no liveness check. */
  health: Health | null;
  /** Absent: nothing special (running, or as the records say). */
  state?: SupervisionState;
  /** With state "backoff": when the restart is due. */
  nextRestartAt?: string;
  /** Why it is failed (start limit, or the exit that "no"/on-failure gave up on). */
  reason?: string;
}

/** The full entry: status plus what the policy remembers. */
export interface SupervisionEntry extends SupervisionStatus {
  backoff: BackoffState;
}

export interface SupervisionFile {
  /** The generation the entries belong to: a new one clears stopped and failed states. */
  generation: number | null;
  /** Null-prototype: a process may be called "constructor" or "__proto__". */
  processes: Record<string, SupervisionEntry>;
}

export function freshEntry(hasLiveness: boolean): SupervisionEntry {
  return { restarts: 0, lastExit: null, health: hasLiveness ? "unknown" : null, backoff: FRESH };
}

export function readSupervisionFile(stateDir: string): SupervisionFile {
  try {
    const parsed = JSON.parse(readFileSync(supervisorPaths(stateDir).status, "utf8")) as SupervisionFile;
    if (parsed === null || typeof parsed !== "object" || typeof parsed.processes !== "object" || parsed.processes === null) {
      return { generation: null, processes: Object.create(null) };
    }
    // JSON.parse gave "__proto__" as an own key; assigning to a null-prototype object keeps it one.
    return { ...parsed, processes: Object.assign(Object.create(null), parsed.processes) };
  } catch {
    // Missing, or unreadable (it is only ever written atomically, so this is not a half write):
    // starting from fresh counters is safe.
    return { generation: null, processes: Object.create(null) };
  }
}

export function writeSupervisionFile(stateDir: string, file: SupervisionFile): void {
  writeFileAtomic(supervisorPaths(stateDir).status, `${JSON.stringify(file)}\n`, 0o600, false);
}

/** Per process name, for `status`. */
export function readSupervision(stateDir: string): Map<string, SupervisionStatus> {
  const out = new Map<string, SupervisionStatus>();
  for (const [name, entry] of Object.entries(readSupervisionFile(stateDir).processes)) {
    const { backoff: _backoff, ...status } = entry;
    out.set(name, status);
  }
  return out;
}
