// A daemon's PID file is the service's word, and the service may be hostile: before procman records
// (and later signals) the PID it names, the PID must be able to be the daemon just launched.
import { ProcmanError } from "../errors.js";
import { ancestorsOf, checkIdentity, isLive, stillRuns, readProcStat, readUids, startedBefore, type ProcStat, type ProcessIdentity } from "./proc.js";

/** A PID file named a process that cannot be the daemon: the start fails (exit 1, undo). */
export class UntrustedPidError extends ProcmanError {
  constructor(readonly pidFile: string, readonly pid: number | undefined, why: string) {
    super("EPIDTRUST", `${pidFile}${pid !== undefined ? ` names PID ${pid}, which` : ""} ${why}; not trusted`, 1);
  }
}

export interface PidTrustInput {
  readonly pidFile: string;
  /** What the PID file said (its first line). */
  readonly text: string;
  /** Start time of the launcher procman spawned: the daemon cannot be older. */
  readonly launcherStartTime: string;
  /** PIDs never to accept besides procman and its ancestors (the supervisor). */
  readonly exclude?: readonly number[];
  /** PIDs and process groups recorded for other processes. */
  readonly claimed?: ReadonlySet<number>;
  /** When procman is root and the process declares `user`: the UID it must run as. */
  readonly uid?: number;
}

export interface VerifiedDaemon extends ProcessIdentity {
  /** Its process group and session at verification. */
  readonly pgid: number;
  readonly sid: number;
}

/**
 * The verified daemon, or undefined while the file names no live process yet (the caller polls);
 * throws UntrustedPidError for anything that can never be the daemon.
 */
export function verifyDaemonPid(input: PidTrustInput): VerifiedDaemon | undefined {
  const { pidFile, text } = input;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < 1) {
    throw new UntrustedPidError(pidFile, undefined, `does not hold a PID (${JSON.stringify(text.slice(0, 20))}),`);
  }
  const pid = Number(text);
  if (pid === 1) throw new UntrustedPidError(pidFile, pid, "is PID 1 (init)");
  if (pid === process.pid) throw new UntrustedPidError(pidFile, pid, "is procman itself");
  if (ancestorsOf(process.pid).has(pid)) throw new UntrustedPidError(pidFile, pid, "is an ancestor of procman");
  if (input.exclude?.includes(pid) === true) throw new UntrustedPidError(pidFile, pid, "is procman's supervisor");
  if (input.claimed?.has(pid) === true) throw new UntrustedPidError(pidFile, pid, "is recorded for another process");
  const stat = readProcStat(pid);
  if (!isLive(stat)) return undefined;
  if (startedBefore(stat.startTime, input.launcherStartTime)) {
    throw new UntrustedPidError(pidFile, pid, "started before procman launched the daemon");
  }
  if (input.claimed?.has(stat.pgrp) === true) throw new UntrustedPidError(pidFile, pid, `is in the process group ${stat.pgrp} of another process`);
  if (input.uid !== undefined) {
    const uids = readUids(pid);
    if (uids === undefined) return undefined; // gone meanwhile
    if (uids.real !== input.uid || uids.effective !== input.uid) {
      throw new UntrustedPidError(pidFile, pid, `runs as UID ${uids.effective}, not as its user (UID ${input.uid})`);
    }
  }
  return { pid, startTime: stat.startTime, pgid: stat.pgrp, sid: stat.session };
}

/**
 * The PIDs and process groups recorded for every running process but `name`: a PID file may name
 * none of them (a dead one's PID may have been handed to the new daemon).
 */
export function claimedIds(
  records: Iterable<ProcessIdentity & { readonly name: string; readonly pgid?: number }>,
  name: string,
): Set<number> {
  const claimed = new Set<number>();
  for (const record of records) {
    if (record.name === name || !stillRuns(checkIdentity(record))) continue;
    claimed.add(record.pid);
    if (record.pgid !== undefined) claimed.add(record.pgid);
  }
  return claimed;
}

/**
 * Whether procman may signal the whole group `pgid` for this process now: only a group the
 * process itself leads (procman created it for a foreground process; a verified daemon made it),
 * re-read right before the kill: the leader still runs with its recorded start time.
 */
export function mayKillGroup(identity: ProcessIdentity, pgid: number | undefined): boolean {
  return leadsGroup(identity, pgid, readProcStat(identity.pid));
}

/** mayKillGroup on a stat of the process read just now. */
export function leadsGroup(identity: ProcessIdentity, pgid: number | undefined, stat: ProcStat | undefined): boolean {
  if (pgid === undefined || pgid !== identity.pid || pgid === ownGroup()) return false;
  return isLive(stat) && stat.pid === identity.pid && stat.startTime === identity.startTime && stat.pgrp === pgid;
}

let ownPgrp: number | undefined;
/** procman's own process group: never signalled as a whole (it would reach procman). */
function ownGroup(): number | undefined {
  return (ownPgrp ??= readProcStat(process.pid)?.pgrp);
}
