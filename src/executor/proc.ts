// What the kernel says about a PID, from /proc. A PID alone can lie (reuse, stale PID files): the
// identity of a process is its PID plus its start time (field 22 of /proc/PID/stat).
import { readFileSync, readdirSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z (zombie: already dead), T, … */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  /** Clock ticks since boot; with the PID, survives PID reuse. */
  readonly startTime: string;
}

export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses: parse after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); field n is fields[n - 3].
  return {
    pid,
    state: fields[0] ?? "?",
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTime: fields[19] ?? "",
  };
}

/** Alive and not a zombie (kill(pid, 0) succeeds on a zombie, so it cannot tell). */
export function isLive(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

export type IdentityCheck = "running" | "dead" | "reused";

/** Whether the recorded process is still the one running under its PID. */
export function checkIdentity(identity: ProcessIdentity): IdentityCheck {
  const stat = readProcStat(identity.pid);
  if (!isLive(stat)) return "dead";
  return stat.startTime === identity.startTime ? "running" : "reused";
}

export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return isLive(stat) ? { pid, startTime: stat.startTime } : undefined;
}

/** Whether any live process is still in the process group (members that are zombies do not count). */
export function groupHasLiveMembers(pgid: number): boolean {
  return liveGroups().has(pgid);
}

// Many stops wait on their groups at once: one scan of /proc serves them all for a few ms.
let groupsCache: { at: number; groups: Set<number> } | undefined;
function liveGroups(): Set<number> {
  const now = Date.now();
  if (groupsCache !== undefined && now - groupsCache.at < 10) return groupsCache.groups;
  const groups = new Set<number>();
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (isLive(stat)) groups.add(stat.pgrp);
  }
  groupsCache = { at: Date.now(), groups };
  return groups;
}

export function listPids(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^[0-9]+$/.test(entry))
    .map(Number);
}

/** The value of one environment variable of a process, if it is readable. */
export function readEnvironmentVariable(pid: number, name: string): string | undefined {
  let environ: string;
  try {
    // UTF-8: procman writes its tag (which holds the state dir) as UTF-8.
    environ = readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return undefined;
  }
  const prefix = `${name}=`;
  for (const entry of environ.split("\0")) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}
