// One start of one process and the record that says so: used by the direct backend (switch) and by
// the supervisor (restarts), so both start a process and record it the same way.
import type { ResolvedProcess } from "../model/types.js";
import { specHash } from "../plan/spec-hash.js";
import { launch, type Launched } from "./launch.js";
import { claimedIds } from "./pid-trust.js";
import type { SpawnRunner } from "./spawn-runner.js";
import type { ProcessRecord } from "./state-dir.js";

export interface RecordedStart {
  readonly launched: Launched;
  /** Not written yet: the caller writes it (and stops the process if it cannot). */
  readonly record: ProcessRecord;
}

/**
 * Launches `spec` with what the other records claim (a daemon's PID file must not name one of
 * theirs) and the log identity recorded at its last start, and builds its new record.
 */
export async function launchRecorded(
  spec: ResolvedProcess,
  stateDir: string,
  records: ReadonlyMap<string, ProcessRecord>,
  exclude: readonly number[] = [],
  runner?: SpawnRunner,
): Promise<RecordedStart> {
  const hash = specHash(spec);
  const previous = records.get(spec.name);
  const launched = await launch(spec, hash, stateDir, {
    ...(spec.mode === "daemon" ? { claimed: claimedIds(records.values(), spec.name) } : {}),
    ...(previous?.logDev !== undefined && previous.logIno !== undefined ? { knownLog: { dev: previous.logDev, ino: previous.logIno } } : {}),
    ...(exclude.length > 0 ? { exclude } : {}),
    ...(runner !== undefined ? { runner } : {}),
  });
  return { launched, record: recordOf(spec, launched) };
}

/** The record of a start, from what launch() returned (here or in the supervisor). */
export function recordOf(spec: ResolvedProcess, launched: Omit<Launched, "exit" | "notify">): ProcessRecord {
  return {
    name: spec.name,
    pid: launched.pid,
    startTime: launched.startTime,
    mode: spec.mode,
    specHash: specHash(spec),
    pidFile: spec.pidFile,
    stopSignal: spec.stop.signal,
    stopTimeout: spec.stop.timeout,
    startedAt: new Date().toISOString(),
    activatesAfter: spec.activatesAfter,
    pgid: launched.pgid,
    sid: launched.sid,
    logDev: launched.log.dev,
    logIno: launched.log.ino,
    logOffset: launched.logOffset,
  };
}
