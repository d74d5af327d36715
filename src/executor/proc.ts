// What the kernel says about a PID, from /proc. A PID alone can lie (reuse, stale PID files): the
// identity of a process is its PID plus its start time (field 22 of /proc/PID/stat).
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z (zombie: already dead), T, … */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly session: number;
  /** Clock ticks since boot; with the PID, survives PID reuse. */
  readonly startTime: string;
  /** Field 20: a zombie leader with more than one is a process whose other threads still run. */
  readonly threads: number;
}

export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

// /proc/PID/stat is far below 1 KiB (comm is at most 64 bytes): read into one reused buffer with
// open, read, close — readFileSync adds an fstat, a second read and a fresh buffer per call, and a
// stop reads this file thousands of times.
const statBuffer = Buffer.allocUnsafe(4096);

/** /proc/PID/stat read into statBuffer: its length (statBuffer.length: longer, read it whole), or undefined. */
function readStatInto(pid: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, "r");
  } catch {
    return undefined;
  }
  try {
    return readSync(fd, statBuffer, 0, statBuffer.length, 0);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function readProcStat(pid: number): ProcStat | undefined {
  const length = readStatInto(pid);
  if (length === undefined) return undefined;
  let text: string;
  try {
    text = length < statBuffer.length ? statBuffer.toString("latin1", 0, length) : readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  return parseStat(pid, text);
}

function parseStat(pid: number, text: string): ProcStat | undefined {
  // Field 2 (comm) may hold spaces and parentheses: parse after the last ")".
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(" ", 20);
  // fields[0] is field 3 (state); field n is fields[n - 3].
  return {
    pid,
    state: fields[0] ?? "?",
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTime: fields[19] ?? "",
    threads: Number(fields[17]),
  };
}

/** Alive and not a zombie (kill(pid, 0) succeeds on a zombie, so it cannot tell). */
export function isLive(stat: ProcStat | undefined): stat is ProcStat {
  if (stat === undefined || stat.state === "X") return false;
  // A main thread that exited on its own (pthread_exit, SYS_exit) leaves its leader a zombie while
  // the other threads run on: that process is alive until its last thread ends.
  return stat.state !== "Z" || stat.threads > 1;
}

/** Stopped by a signal (state T, or t under a tracer). */
export function isPaused(stat: ProcStat): boolean {
  return stat.state === "T" || stat.state === "t";
}

/** "paused": the recorded process, stopped by a signal (state T or t); it still runs for every other purpose. */
export type IdentityCheck = "running" | "paused" | "dead" | "reused";

/** Whether the recorded process is still the one running under its PID. */
export function checkIdentity(identity: ProcessIdentity): IdentityCheck {
  return identityFromStat(identity, readProcStat(identity.pid));
}

/** checkIdentity on a stat already read (one read answers several questions). */
export function identityFromStat(identity: ProcessIdentity, stat: ProcStat | undefined): IdentityCheck {
  if (!isLive(stat)) return "dead";
  if (stat.startTime !== identity.startTime) return "reused";
  return isPaused(stat) ? "paused" : "running";
}

/** The recorded process still runs (paused counts: it holds its PID and can be continued). */
export function stillRuns(check: IdentityCheck): boolean {
  return check === "running" || check === "paused";
}

/** Start times compare as numbers (clock ticks since boot; too long for a double on a long uptime). */
export function startedBefore(a: string, b: string): boolean {
  return BigInt(a) < BigInt(b);
}

/** Now, in the clock ticks of /proc/PID/stat field 22 (USER_HZ = 100 on Linux), rounded down. */
export function ticksNow(): string {
  const uptime = readFileSync("/proc/uptime", "latin1").split(" ")[0]!;
  const [whole = "0", fraction = "0"] = uptime.split(".");
  return String(BigInt(whole) * 100n + BigInt(fraction.padEnd(2, "0").slice(0, 2)));
}

/** procman's own ancestors (parent, its parent, … up to PID 1): never a service's PID. */
export function ancestorsOf(pid: number): Set<number> {
  const ancestors = new Set<number>();
  let current = readProcStat(pid)?.ppid ?? 0;
  while (current > 0 && !ancestors.has(current)) {
    ancestors.add(current);
    current = readProcStat(current)?.ppid ?? 0;
  }
  return ancestors;
}

/** Real and effective UID of a process (/proc/PID/status "Uid:" line). */
export function readUids(pid: number): { real: number; effective: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return undefined;
  }
  const ids = /^Uid:\s+([0-9]+)\s+([0-9]+)/m.exec(text);
  return ids === null ? undefined : { real: Number(ids[1]), effective: Number(ids[2]) };
}

/** The socket inodes among a process's open descriptors (links read "socket:[INODE]"). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) inodes.add(Number(target.slice(8, -1)));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = readProcStat(pid);
  return isLive(stat) ? { pid, startTime: stat.startTime } : undefined;
}

/** Whether any live process is still in the process group (members that are zombies do not count). */
export function groupHasLiveMembers(pgid: number, notBefore = performance.now()): boolean {
  return groupMaybeAlive(pgid) && liveGroups(notBefore).has(pgid);
}

/**
 * kill(-pgid, 0): ESRCH means nothing at all is left in the group, zombies included, and no /proc
 * scan is needed. Success (or EPERM) only says "look": a group of zombies answers too.
 */
export function groupMaybeAlive(pgid: number): boolean {
  return signalZero(-pgid);
}

/** kill(pid, 0): false only when no such process exists (ESRCH); a zombie answers too. */
export function pidMaybeAlive(pid: number): boolean {
  return signalZero(pid);
}

function signalZero(target: number): boolean {
  // ESRCH is the answer a poller waits for, thousands of times a stop: no stack trace for it.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(target, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return true;
}

// Many stops wait on their groups at once: one scan of /proc serves them all for a while — at
// least twice as long as the scan took, so that waiters never spend their time rescanning. Only a
// scan begun after `notBefore` answers (performance.now() time): an older one may predate a group.
// A group absent from a later scan stays gone: only a live member could add one.
let groupsCache: { at: number; until: number; groups: Set<number> } | undefined;
export function liveGroups(notBefore: number): Set<number> {
  const now = performance.now();
  if (groupsCache !== undefined && groupsCache.at > notBefore && now < groupsCache.until) return groupsCache.groups;
  const groups = new Set<number>();
  for (const pid of listPids()) {
    const pgrp = livePgrp(pid);
    if (pgrp !== undefined) groups.add(pgrp);
  }
  const done = performance.now();
  groupsCache = { at: now, until: done + Math.max(10, 2 * (done - now)), groups };
  return groups;
}

/**
 * The group of a live process, parsed in place from its stat (state and pgrp only): a scan for
 * live groups reads every process on the machine, and a stop's poller may need several.
 */
function livePgrp(pid: number): number | undefined {
  const length = readStatInto(pid);
  if (length === undefined) return undefined;
  if (length === statBuffer.length) return readProcStat(pid)?.pgrp; // longer than a stat can be: the slow way
  // After the last ")": " S ppid pgrp …"
  const close = statBuffer.lastIndexOf(0x29, length - 1);
  if (close < 0 || close + 2 >= length) return undefined;
  const state = statBuffer[close + 2];
  if (state === 0x58) return undefined; // X: not live
  // Z: dead, unless a leader whose other threads run on (field 20, num_threads, above 1).
  if (state === 0x5a && numberAfter(close, 20, length) <= 1) return undefined;
  return numberAfter(close, 5, length); // pgrp
}

/** Field `field` (3: state) of the stat in statBuffer, read as a decimal number in place. */
function numberAfter(close: number, field: number, length: number): number {
  let at = close + 2;
  for (let spaces = 0; at < length && spaces < field - 3; at++) if (statBuffer[at] === 0x20) spaces++;
  let value = 0;
  for (; at < length && statBuffer[at]! >= 0x30 && statBuffer[at]! <= 0x39; at++) value = value * 10 + statBuffer[at]! - 0x30;
  return value;
}

/** One pass over /proc: the stat of every process (those that vanish meanwhile are left out). */
export function scanProc(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (stat !== undefined) stats.push(stat);
  }
  return stats;
}

export function listPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const code = entry.charCodeAt(0);
    // Only the numeric entries are processes (self, thread-self, sys, … are not).
    if (code >= 48 && code <= 57) {
      const pid = Number(entry);
      if (Number.isInteger(pid)) pids.push(pid);
    }
  }
  return pids;
}

/** The value of one environment variable of a process, if it is readable. */
export function readEnvironmentVariable(pid: number, name: string): string | undefined {
  // A sweep reads the environment of every process on the machine: into one reused buffer, and
  // only the value looked for is decoded (UTF-8: procman writes its tag, which holds the state
  // dir, as UTF-8).
  const length = readEnviron(pid);
  if (length === undefined) return undefined;
  // One native search for "\0NAME=" (or NAME= at the start), not a comparison per variable.
  const environ = environBuffer.subarray(0, length);
  const needle = Buffer.from(`\0${name}=`);
  let at = environ.length >= needle.length - 1 && environ.compare(needle, 1, needle.length, 0, needle.length - 1) === 0 ? needle.length - 1 : -1;
  if (at < 0) {
    const found = environ.indexOf(needle);
    if (found < 0) return undefined;
    at = found + needle.length;
  }
  let end = environ.indexOf(0, at);
  if (end < 0) end = length;
  return environ.toString("utf8", at, end);
}

let environBuffer = Buffer.allocUnsafe(65536);

/**
 * Reads /proc/PID/environ into environBuffer (grown as needed); its length, or undefined. A leader
 * whose main thread exited reads none (its memory went with it): its live threads share theirs.
 */
function readEnviron(pid: number): number | undefined {
  const length = readEnvironFile(`/proc/${pid}/environ`);
  if (length !== undefined) return length;
  const stat = readProcStat(pid);
  if (stat?.state !== "Z" || !isLive(stat)) return undefined;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const task of tasks) {
    if (task === String(pid)) continue;
    const threads = readEnvironFile(`/proc/${pid}/task/${task}/environ`);
    if (threads !== undefined && threads > 0) return threads;
  }
  return undefined;
}

function readEnvironFile(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === environBuffer.length) {
        const bigger = Buffer.allocUnsafe(environBuffer.length * 2);
        environBuffer.copy(bigger, 0, 0, length);
        environBuffer = bigger;
      }
      const n = readSync(fd, environBuffer, length, environBuffer.length - length, null);
      if (n === 0) return length;
      length += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
