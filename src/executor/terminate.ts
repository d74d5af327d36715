// Stopping: the only place procman signals a process, and only one whose identity (PID and start
// time) matches what procman recorded when it started it. Stopping is done when the process and
// its process group are gone, not when the signal was sent.
import { rmSync } from "node:fs";
import { ProcmanError } from "../errors.js";
import { mayKillGroup } from "./pid-trust.js";
import { checkIdentity, groupHasLiveMembers, isLive, listPids, readEnvironmentVariable, readProcStat, stillRuns, type ProcessIdentity } from "./proc.js";
import { readPidLine } from "./safe-file.js";
import { sleep } from "./readiness.js";

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
  const check = checkIdentity(target);
  if (!stillRuns(check)) {
    // Dead, or its PID now names an unrelated process: nothing to signal, ever.
    if (check === "dead") await reapTagged(target);
    cleanupPidFile(target);
    return check === "dead" ? "already-gone" : "reused";
  }
  const pgid = target.pgid ?? readProcStat(target.pid)?.pgrp;
  const leader = mayKillGroup(target, pgid);
  const send = (signal: NodeJS.Signals) => {
    // Re-verified before every signal: the PID could have been reused since the last look.
    if (!stillRuns(checkIdentity(target))) return;
    try {
      process.kill(leader && mayKillGroup(target, pgid) ? -target.pid : target.pid, signal);
    } catch {
      // gone between the check and the kill
    }
  };
  send(target.stopSignal as NodeJS.Signals);
  // A stopped (paused) process keeps the stop signal pending until it is continued.
  if (target.stopSignal !== "SIGKILL") send("SIGCONT");
  let outcome: StopOutcome = "stopped";
  if (!(await waitGone(target, leader, target.stopTimeout * 1000))) {
    send("SIGKILL");
    if (leader && checkIdentity(target) !== "reused") killGroup(target.pid);
    outcome = "killed";
    if (!(await waitGone(target, leader, 10_000))) {
      throw new StopError(target.name, `PID ${target.pid} is still alive after SIGKILL (uninterruptible?)`);
    }
  }
  cleanupPidFile(target);
  return outcome;
}

/** Until the process is dead (a zombie counts as dead) and, for a group leader, its group too. */
async function waitGone(target: ProcessIdentity, leader: boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let pause = 5;
  for (;;) {
    const check = checkIdentity(target);
    // A reused PID means the old group was empty when the kernel handed the number out again.
    const gone = check === "reused" || (check === "dead" && (!leader || !groupHasLiveMembers(target.pid)));
    if (gone) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
    pause = Math.min(pause * 2, 100);
  }
}

/**
 * Members left in a dead process's group that carry its tag were started by it: they go too (no
 * orphans). Each is signalled by PID, identity checked; anything untagged is left alone.
 */
async function reapTagged(target: StopTarget): Promise<void> {
  if (target.tag === undefined || !groupHasLiveMembers(target.pid)) return;
  const members: ProcessIdentity[] = [];
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (isLive(stat) && stat.pgrp === target.pid && readEnvironmentVariable(pid, "PROCMAN_TAG") === target.tag) {
      members.push({ pid, startTime: stat.startTime });
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
  const deadline = Date.now() + 10_000;
  while (members.some((member) => stillRuns(checkIdentity(member))) && Date.now() < deadline) await sleep(20);
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
    // The service's file: read without following a link or blocking on a FIFO.
    if (readPidLine(target.pidFile) === String(target.pid)) rmSync(target.pidFile, { force: true });
  } catch {
    // no PID file, or not one procman reads
  }
}
