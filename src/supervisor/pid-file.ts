// One supervisor per state dir: its PID file holds `{ pid, startTime }`, created exclusively; one
// left by a dead supervisor (kill -9) is recognised by the identity check and replaced.
import { closeSync, readFileSync, rmSync, writeSync } from "node:fs";
import { checkIdentity, identityOf, stillRuns, type ProcessIdentity } from "../executor/proc.js";
import { createExclusive } from "../executor/safe-file.js";

export function readSupervisorPid(file: string): ProcessIdentity | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<ProcessIdentity>;
    if (typeof parsed.pid === "number" && typeof parsed.startTime === "string") return { pid: parsed.pid, startTime: parsed.startTime };
  } catch {
    // missing or half written (the writer is starting)
  }
  return undefined;
}

/** The running supervisor the file names, if it still runs. */
export function liveSupervisor(file: string): ProcessIdentity | undefined {
  const identity = readSupervisorPid(file);
  return identity !== undefined && stillRuns(checkIdentity(identity)) ? identity : undefined;
}

/** Claims the PID file for this process; returns the identity of a live one that holds it instead. */
export function claimPidFile(file: string): { ok: true } | { ok: false; holder: ProcessIdentity } {
  const self = identityOf(process.pid)!;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = createExclusive(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readSupervisorPid(file);
      if (holder !== undefined && stillRuns(checkIdentity(holder))) return { ok: false, holder };
      if (holder === undefined && attempt === 0) {
        // Possibly being written by a supervisor starting this instant: look once more.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        continue;
      }
      rmSync(file, { force: true });
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(self)}\n`);
    } finally {
      closeSync(fd);
    }
    return { ok: true };
  }
  throw new Error(`${file}: cannot claim the supervisor's PID file`);
}

/** Removes the PID file if it is still ours. */
export function releasePidFile(file: string): void {
  if (readSupervisorPid(file)?.pid === process.pid) rmSync(file, { force: true });
}
