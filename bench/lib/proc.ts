// What the kernel says, from /proc: the only source the bench trusts for "running" and "gone".
// A zombie counts as gone (PID 1 in some containers never reaps, and the state field says Z).
import { closeSync, openSync, readSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";

const buffer = Buffer.alloc(256 * 1024);

function readProcFile(file: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0 || length + n >= buffer.length) return length + n;
      length += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The state letter (R, S, D, Z, …) of a PID, or undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  const n = readProcFile(`/proc/${pid}/stat`);
  if (n === undefined || n === 0) return undefined;
  const text = buffer.toString("latin1", 0, n);
  return text[text.lastIndexOf(")") + 2];
}

export function isLive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

export interface LiveProcess {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** Duration of the last scans, to report the resolution of the measurements. */
export const scanTimes: number[] = [];

/** Live (not zombie) processes whose command line (argv joined by NUL) starts with `prefix`, or contains it. */
export function liveProcesses(prefix: string, mode: "startsWith" | "includes" = "startsWith"): LiveProcess[] {
  const began = performance.now();
  const needle = Buffer.from(prefix, "latin1");
  const found: LiveProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const n = readProcFile(`/proc/${entry}/cmdline`);
    if (n === undefined || n < needle.length) continue;
    const match =
      mode === "startsWith" ? buffer.compare(needle, 0, needle.length, 0, needle.length) === 0 : buffer.subarray(0, n).includes(needle);
    if (!match) continue;
    const argv = buffer.toString("latin1", 0, n).replace(/\0$/, "").split("\0");
    const pid = Number(entry);
    if (!isLive(pid)) continue;
    found.push({ pid, argv });
  }
  scanTimes.push(performance.now() - began);
  return found;
}

/** The bench's fixture processes: argv[0] is the fixture binary (unique to this bench run). */
export function fixtureProcesses(fixture: string): LiveProcess[] {
  return liveProcesses(`${fixture}\0`);
}

export type Verified = { readonly ok: true; readonly pids: Map<string, number> } | { readonly ok: false; readonly reason: string };

/**
 * Every expected process runs exactly once with exactly its command line, and no other fixture
 * process runs. `expected` maps the marker (argv[1]) to the whole argv.
 */
export function verifyRunning(fixture: string, expected: ReadonlyMap<string, readonly string[]>): Verified {
  const live = fixtureProcesses(fixture);
  const byMarker = new Map<string, LiveProcess[]>();
  for (const process of live) {
    const marker = process.argv[1] ?? "";
    byMarker.set(marker, [...(byMarker.get(marker) ?? []), process]);
  }
  let missing = 0;
  let duplicated = 0;
  let different = 0;
  const pids = new Map<string, number>();
  for (const [marker, argv] of expected) {
    const found = byMarker.get(marker) ?? [];
    if (found.length === 0) missing++;
    else if (found.length > 1) duplicated++;
    else if (found[0]!.argv.length !== argv.length || found[0]!.argv.some((arg, i) => arg !== argv[i])) different++;
    else pids.set(marker, found[0]!.pid);
  }
  const unexpected = live.filter((process) => !expected.has(process.argv[1] ?? "")).length;
  if (missing + duplicated + different + unexpected > 0) {
    return {
      ok: false,
      reason: `of ${expected.size}: ${missing} missing, ${duplicated} duplicated, ${different} with another command line; ${unexpected} unexpected fixture processes`,
    };
  }
  return { ok: true, pids };
}

/** undefined when no fixture process is left, else why not. */
export function verifyGone(fixture: string): string | undefined {
  const left = fixtureProcesses(fixture).length;
  return left === 0 ? undefined : `${left} fixture processes still running`;
}

/**
 * The live children of `pid` that are not fixtures: the helper processes a daemon keeps beside
 * itself (procman's supervisor: its spawning runner), whose memory is the daemon's as much.
 */
export function helperChildren(pid: number, fixture: string): number[] {
  const helpers: number[] = [];
  const needle = Buffer.from(`${fixture}\0`, "latin1");
  for (const entry of readdirSync("/proc")) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const n = readProcFile(`/proc/${entry}/stat`);
    if (n === undefined) continue;
    const text = buffer.toString("latin1", 0, n);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) !== pid || fields[0] === "Z") continue;
    const c = readProcFile(`/proc/${entry}/cmdline`);
    if (c !== undefined && c >= needle.length && buffer.compare(needle, 0, needle.length, 0, needle.length) === 0) continue;
    helpers.push(Number(entry));
  }
  return helpers;
}

/** Resident set size (VmRSS) of a live process, in kB. */
export function residentKB(pid: number): number | undefined {
  return statusKB(pid, "VmRSS");
}

/**
 * Its anonymous resident memory (RssAnon), in kB: what the process allocated itself (heap, stacks),
 * without the pages of its interpreter's binary and libraries, which VmRSS counts although every
 * process running the same binary shares them.
 */
export function anonymousKB(pid: number): number | undefined {
  return statusKB(pid, "RssAnon");
}

function statusKB(pid: number, field: string): number | undefined {
  const n = readProcFile(`/proc/${pid}/status`);
  if (n === undefined) return undefined;
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(buffer.toString("latin1", 0, n));
  return match === null ? undefined : Number(match[1]);
}

/** Number of entries in /proc (processes, zombies included): the size of every scan. */
export function processCount(): { total: number; zombies: number } {
  let total = 0;
  let zombies = 0;
  for (const entry of readdirSync("/proc")) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    total++;
    if (processState(Number(entry)) === "Z") zombies++;
  }
  return { total, zombies };
}
