// Stopping: the only place procman signals a process, and only one whose identity (PID and start
// time) matches what procman recorded when it started it. Stopping is done when the process and
// its process group are gone, not when the signal was sent.
import { unlinkSync } from "node:fs";
import { ProcmanError } from "../errors.js";
import { waitGone } from "./gone-poller.js";
import { leadsGroup } from "./pid-trust.js";
import { checkIdentity, groupHasLiveMembers, identityFromStat, isLive, readEnvironmentVariable, readProcStat, scanProc, stillRuns, type ProcessIdentity } from "./proc.js";
import { checkServiceFileDir } from "./dir-trust.js";
import { readPidLine } from "./safe-file.js";

export interface StopTarget extends ProcessIdentity {
  readonly name: string;
  readonly stopSignal: string;
  /** Seconds before SIGKILL. */
  readonly stopTimeout: number;
  readonly pidFile?: string;
  /**
   * PROCMAN_TAG of what procman spawned for it. When the recorded process is dead, what is left of
   * its group is stopped only if it carries this tag: after the group once emptied, its number may
   * belong to an unrelated group.
   */
  readonly tag?: string;
  /**
   * The process group recorded at the start. Only a group the process itself leads is ever
   * signalled as a whole (procman created it, or the verified daemon made it), re-checked right
   * before each kill(-pgid). Left out (older records): the group it leads now, if any.
   */
  readonly pgid?: number;
}

export type StopOutcome = "stopped" | "killed" | "already-gone" | "reused";

/** A process that survives SIGKILL (uninterruptible sleep): the stop failed. Exit 1. */
export class StopError extends ProcmanError {
  constructor(readonly process: string, message: string) {
    super("ESTOP", `${process}: ${message}`, 1);
  }
}

export async function terminate(target: StopTarget): Promise<StopOutcome> {
  // One read of /proc/PID/stat answers who it is, whether it is paused and which group it leads.
  const stat = readProcStat(target.pid);
  const check = identityFromStat(target, stat);
  if (!stillRuns(check)) {
    // Dead, or its PID now names an unrelated process: nothing to signal, ever.
    if (check === "dead") await reapTagged(target);
    cleanupPidFile(target);
    return check === "dead" ? "already-gone" : "reused";
  }
  const pgid = target.pgid ?? stat!.pgrp;
  const leader = leadsGroup(target, pgid, stat);
  /** Signals after verifying the identity on `seen` (a fresh read unless given). */
  const send = (signals: readonly NodeJS.Signals[], seen = readProcStat(target.pid)) => {
    // Re-verified before every signal: the PID could have been reused since the last look.
    if (!stillRuns(identityFromStat(target, seen))) return;
    const whom = leader && leadsGroup(target, pgid, seen) ? -target.pid : target.pid;
    for (const signal of signals) {
      try {
        process.kill(whom, signal);
      } catch {
        // gone between the check and the kill
      }
    }
  };
  // The read above is the check for both: nothing runs between it and the two kill(2) calls.
  // A stopped (paused) process keeps the stop signal pending until it is continued.
  send(target.stopSignal === "SIGKILL" ? ["SIGKILL"] : [target.stopSignal as NodeJS.Signals, "SIGCONT"], stat);
  let outcome: StopOutcome = "stopped";
  if (!(await waitGone(target, leader, target.stopTimeout * 1000))) {
    send(["SIGKILL"]);
    if (leader && checkIdentity(target) !== "reused") killGroup(target.pid);
    outcome = "killed";
    if (!(await waitGone(target, leader, 10_000))) {
      throw new StopError(target.name, `PID ${target.pid} is still alive after SIGKILL (uninterruptible?)`);
    }
  }
  cleanupPidFile(target);
  return outcome;
}

/**
 * Members left in a dead process's group that carry its tag were started by it: they go too (no
 * orphans). Each is signalled by PID, identity checked; anything untagged is left alone.
 */
async function reapTagged(target: StopTarget): Promise<void> {
  if (target.tag === undefined || !groupHasLiveMembers(target.pid)) return;
  const members: ProcessIdentity[] = [];
  for (const stat of scanProc()) {
    if (isLive(stat) && stat.pgrp === target.pid && readEnvironmentVariable(stat.pid, "PROCMAN_TAG") === target.tag) {
      members.push({ pid: stat.pid, startTime: stat.startTime });
    }
  }
  for (const member of members) {
    if (!stillRuns(checkIdentity(member))) continue;
    try {
      process.kill(member.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await Promise.all(members.map((member) => waitGone(member, false, 10_000)));
}

function killGroup(pgid: number): void {
  // A PGID cannot be reused while its group has members, so this reaches only that group.
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // the group is empty
  }
}

function cleanupPidFile(target: StopTarget): void {
  if (target.pidFile === undefined) return;
  try {
    // The service's file: read without following a link or blocking on a FIFO. Unlinked here, not
    // in the thread pool: a stop's signals all go out before the first cleanup (dependents' stops
    // end, cleanup included, before their dependencies' begin), unlinks in one directory take its
    // lock in turn anyway, and 500 promises through the thread pool cost the main thread more than
    // the unlinks (with the poller change of the same commit: a stop of 500, 328 -> 275 ms CPU).
    checkServiceFileDir(target.pidFile); // else left where it is
    if (readPidLine(target.pidFile) === String(target.pid)) unlinkSync(target.pidFile);
  } catch {
    // no PID file, or not one procman reads
  }
}
