// What really runs, per declared process. Reads only: nothing is signalled or changed.
import type { ProcessManagerName, ResolvedProcess } from "../model/types.js";
import { adoptSpecHashes, specHash } from "../plan/spec-hash.js";
import { checkIdentity, isLive, isPaused, readProcStat, stillRuns } from "./proc.js";
import { probeReadiness } from "./readiness.js";
import { tagFor, unrecordedLeaders } from "./tag-sweep.js";
import { StateDir, type ProcessRecord } from "./state-dir.js";
import { supervisorPaths } from "../supervisor/paths.js";
import { liveSupervisor } from "../supervisor/pid-file.js";
import { needsSupervisor } from "../supervisor/policy.js";
import { readSupervision } from "../supervisor/status-file.js";

export type ProcessState =
  | "paused" // identity verified, stopped by a signal (state T)
  | "running" // identity verified, ready
  | "not-ready" // identity verified, fails its readiness check now (or restarted, not ready yet)
  | "changed" // running, but not as the current generation declares (an interrupted switch)
  | "dead" // was started, is gone
  | "pid-reused" // its PID now names an unrelated process
  | "paused" // alive, but stopped by a signal (SIGSTOP, Ctrl-Z)
  | "backoff" // exited; the supervisor restarts it at nextRestartAt
  | "failed" // the supervisor gave up (start limit, or a liveness stop without restart)
  | "stopped" // not running, as `procman stop` left it
  | "undeclared"; // running from a record, but not part of the current generation

export interface LastExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly reason: "exit" | "signal" | "liveness" | "unknown";
}

export interface ProcessStatus {
  readonly name: string;
  readonly state: ProcessState;
  readonly pid: number | null;
  readonly startedAt: string | null;
  readonly mode: "foreground" | "daemon" | null;
  readonly pidFile: string | null;
  readonly logFile: string | null;
  /** Restarts by the supervisor since the last switch, start or restart. */
  readonly restarts?: number;
  readonly lastExit?: LastExit | null;
  /** null: no liveness check. */
  readonly health?: "healthy" | "unhealthy" | "unknown" | null;
  readonly nextRestartAt?: string;
}

export interface DeploymentStatus {
  readonly generation: number | null;
  readonly processManager: ProcessManagerName;
  readonly active: boolean;
  readonly supervisor: { readonly running: boolean; readonly pid: number | null };
  /** The deployment has something to supervise and was not switched with --no-supervise. */
  readonly supervisorExpected: boolean;
  /** State files that could not be read, each with its problem (status shows what it can). */
  readonly damaged: readonly string[];
  readonly processes: readonly ProcessStatus[];
  /**
   * A journal is there: a command is under way (`running`), or one was cut off (killed) and the
   * next command recovers. `unrecorded`: what the cut-off one started and never recorded (tagged
   * session leaders of this state dir no record names).
   */
  readonly interrupted?: Interrupted | null;
}

export interface Interrupted {
  readonly command: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly running: boolean;
  readonly unrecorded: readonly { readonly name: string; readonly pid: number }[];
}

export async function readStatus(stateDir: string): Promise<DeploymentStatus> {
  const state = new StateDir(stateDir);
  // Leniently: a damaged file is named, and everything else is still shown.
  const deployed = state.readDeployed();
  const { records, damaged: damagedRecords } = state.readRecordsLenient();
  const current = deployed.current;
  const generation = deployed.generation;
  const damaged = [...deployed.damaged, ...damagedRecords].map((entry) => `${entry.file}: ${entry.problem}`);
  const declared = generation?.model.processes ?? [];
  if (generation !== undefined && generation.processManager !== "direct") {
    const { createBackend } = await import("./backends/index.js");
    const backend = await createBackend(generation.processManager, generation.model.context, generation.prefix ?? "procman", state, { installDir: generation.installDir, onWarning: () => undefined });
    const observed = await backend.observe();
    // Running by the manager's word; where it names the main PID, /proc has the last word on it
    // (a PID that is gone is dead, one stopped by a signal is paused).
    const stateOf = (name: string): { state: ProcessState; pid: number | null } => {
      const seen = observed.get(name);
      if (seen?.state !== "running") return { state: current?.active === false ? "stopped" : "dead", pid: null };
      if (seen.pid === undefined) return { state: "running", pid: null };
      const stat = readProcStat(seen.pid);
      if (!isLive(stat)) return { state: "dead", pid: null };
      return { state: isPaused(stat) ? "paused" : "running", pid: seen.pid };
    };
    return {
      generation: generation.generation,
      processManager: generation.processManager,
      active: current?.active ?? false,
      supervisor: { running: false, pid: null },
      supervisorExpected: false,
      damaged,
      interrupted: interruptedCommand(state, records),
      processes: declared.map((spec) => ({
        name: spec.name,
        ...stateOf(spec.name),
        startedAt: null,
        // The other manager restarts; procman does not count its restarts or check liveness there.
        restarts: 0,
        lastExit: null,
        health: null,
        mode: spec.mode,
        pidFile: spec.pidFile,
        logFile: spec.logFile,
      })),
    };
  }
  adoptSpecHashes(declared, generation?.specHashes, declared);
  const supervision = readSupervision(stateDir);
  const supervisor = liveSupervisor(supervisorPaths(stateDir).pidFile);
  const statuses = await Promise.all(
    declared.map(async (spec: ResolvedProcess): Promise<ProcessStatus> => {
      const record = records.get(spec.name);
      const supervised = supervision.get(spec.name);
      const base = {
        name: spec.name,
        mode: spec.mode,
        pidFile: spec.pidFile,
        logFile: spec.logFile,
        restarts: supervised?.restarts ?? 0,
        lastExit: supervised?.lastExit ?? null,
        health: supervised?.health ?? (spec.liveness !== undefined ? "unknown" : null),
        ...(supervised?.nextRestartAt !== undefined && supervised.state === "backoff" && supervisor !== undefined ? { nextRestartAt: supervised.nextRestartAt } : {}),
      } as const;
      const identity = record === undefined ? "dead" : checkIdentity(record);
      if (record === undefined || identity === "dead") {
        const stopped = current?.active === false || current?.stopped?.includes(spec.name) === true;
        // Backoff is a restart to come: with no supervisor running, none comes.
        const told = supervised?.state === "starting" || (supervised?.state === "backoff" && supervisor === undefined) ? undefined : supervised?.state;
        const gone: ProcessState = stopped ? "stopped" : told ?? "dead";
        return { ...base, state: gone, pid: null, startedAt: null };
      }
      let status: ProcessState = identity === "reused" ? "pid-reused" : identity;
      if (status === "running" && record.specHash !== specHash(spec)) status = "changed";
      // Restarted by the supervisor, which still waits for its readiness (a log line, a notify
      // line: nothing status could probe); the wait ends with the supervisor.
      else if (status === "running" && supervised?.state === "starting" && supervisor !== undefined) status = "not-ready";
      // Its own listener, not someone else's on the port (trust-proc): the record knows its group, session and tag.
      else if (status === "running" && !(await probeReadiness(spec, { pid: record.pid, tag: tagFor(record.name, record.specHash, stateDir), ...(record.pgid !== undefined ? { pgid: record.pgid } : {}), ...(record.sid !== undefined ? { session: record.sid } : {}) }))) status = "not-ready";
      return { ...base, state: status, pid: record.pid, startedAt: record.startedAt };
    }),
  );
  const names = new Set(declared.map((spec) => spec.name));
  for (const record of records.values()) {
    if (names.has(record.name)) continue;
    const identity = checkIdentity(record);
    statuses.push({
      name: record.name,
      state: identity === "running" || identity === "paused" ? "undeclared" : identity === "reused" ? "pid-reused" : "dead",
      pid: record.pid,
      startedAt: record.startedAt,
      mode: record.mode,
      pidFile: record.pidFile,
      logFile: null,
    });
  }
  const active = current?.active ?? false;
  return {
    interrupted: interruptedCommand(state, records),
    generation: current?.generation ?? null,
    processManager: generation?.processManager ?? "direct",
    active,
    supervisor: supervisor !== undefined ? { running: true, pid: supervisor.pid } : { running: false, pid: null },
    supervisorExpected: active && generation?.supervise !== false && needsSupervisor(declared),
    damaged,
    processes: statuses.map((entry) => ({ restarts: 0, lastExit: null, health: null, ...entry })),
  };
}

/** The journal's command, if one is there (a damaged journal is among the damaged files already). */
function interruptedCommand(state: StateDir, records: ReadonlyMap<string, ProcessRecord>): Interrupted | null {
  const read = state.inspectJournal();
  if (read.kind !== "ok") return null;
  const journal = read.value;
  const running = stillRuns(checkIdentity(journal));
  // As the next command's recovery finds them.
  const unrecorded = running ? [] : unrecordedLeaders(state.stateDir, [...records.values()]).map(({ name, pid }) => ({ name, pid }));
  return { command: journal.command, pid: journal.pid, startedAt: journal.startedAt, running, unrecorded };
}
