// Helpers for the tests of the direct process manager: real processes only. Polling with deadlines
// (never fixed sleeps), free ports, the processes tagged for a state dir, models written as JSON,
// the CLI run in the background (to kill it mid-switch), and cleanup that leaves no process.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { test as uvuTest } from "uvu";
import { isLive, listPids, readProcStat } from "../../src/executor/proc.js";
import { BIN, checkBuild } from "./cli.js";
import { FIXTURES } from "./paths.js";
import { makeTempDir } from "./tmp.js";

export const NODE = process.execPath;
export const bin = (name: string) => path.join(FIXTURES, "bin", name);
export const SERVICE = bin("service.mjs");
export const REPORT = bin("report.mjs");
export const DAEMON = bin("daemon.sh");

/** Polls `predicate` (sync or async) until it returns a truthy value, which it returns; throws after timeoutMs. */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs: number, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let pause = 5;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 50);
  }
}

/**
 * Resolves once `pid` (a `sleep`) sleeps in its nanosleep: its exec done is not enough, since
 * sleep's own start-up (the loader, setlocale) holds a descriptor 3 open for a moment, and a test
 * that counts descriptors must not count that one. Where the kernel hides wchan ("0"), state S
 * stands in for it.
 */
export async function untilAsleep(pid: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => {
    let wchan: string;
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, "latin1");
    } catch {
      return false;
    }
    return /nanosleep/.test(wchan) || (wchan === "0" && readProcStat(pid)?.state === "S");
  }, timeoutMs, `process ${pid} asleep`);
}

/**
 * The line a process wrote to `file` with `cmd > file`: the shell creates the file before cmd has
 * written, so this polls until a whole line is there (an empty read is not an answer).
 */
export async function lineIn(file: string, timeoutMs = 20_000): Promise<string> {
  const text = await waitFor(() => {
    const now = existsSync(file) ? readFileSync(file, "utf8") : "";
    return /^[^\n]+\n$/.test(now) ? now : undefined;
  }, timeoutMs, `a line in ${file}`);
  return text.slice(0, -1);
}

/** The nanosecond timestamp a process wrote to `file` with `date +%s%N > file` (see lineIn). */
export async function stampIn(file: string, timeoutMs = 20_000): Promise<bigint> {
  const line = await lineIn(file, timeoutMs);
  if (!/^\d+$/.test(line)) throw new Error(`${file}: not a timestamp: ${JSON.stringify(line)}`);
  return BigInt(line);
}

/** A TCP port nobody listens on now (the kernel picks it; closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Alive and not a zombie (PID 1 here may never reap orphans). */
export function alive(pid: number): boolean {
  return isLive(readProcStat(pid));
}

export function startTimeOf(pid: number): string | undefined {
  return readProcStat(pid)?.startTime;
}

export interface Tagged {
  readonly pid: number;
  /** The process name in the tag (`<name>:<specHash>:<stateDir>`). */
  readonly name: string;
  readonly specHash: string;
  readonly sessionLeader: boolean;
  readonly pgrp: number;
}

/** The environment of a process, read here (not with procman's reader, which is under test). */
export function environmentOf(pid: number): Record<string, string> | undefined {
  let raw: string | undefined;
  // A leader whose main thread exited reads none: its other threads' environment is the process's.
  for (const file of [`/proc/${pid}/environ`, ...threadsOf(pid).map((task) => `/proc/${pid}/task/${task}/environ`)]) {
    try {
      raw = readFileSync(file, "utf8");
      if (raw !== "") break;
    } catch {
      // a zombie's (or its leader's): the next
    }
  }
  if (raw === undefined) return undefined;
  const env: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const at = entry.indexOf("=");
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

function threadsOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`).filter((task) => task !== String(pid));
  } catch {
    return [];
  }
}

/** Live processes whose PROCMAN_TAG names this state dir (zombies do not count). */
export function tagged(stateDir: string): Tagged[] {
  const out: Tagged[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const stat = readProcStat(pid);
    if (!isLive(stat)) continue;
    const tag = environmentOf(pid)?.PROCMAN_TAG;
    if (tag === undefined || !tag.endsWith(`:${stateDir}`)) continue;
    const [name = "", specHash = ""] = tag.split(":");
    out.push({ pid, name, specHash, sessionLeader: stat.session === pid, pgrp: stat.pgrp });
  }
  return out;
}

/** Session leaders tagged for this state dir, counted per process name. */
export function instances(stateDir: string): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  for (const entry of tagged(stateDir).filter((entry) => entry.sessionLeader)) {
    byName.set(entry.name, [...(byName.get(entry.name) ?? []), entry.pid]);
  }
  return byName;
}

/** A fresh state dir (removed when the test process exits). */
export function stateDir(): string {
  return makeTempDir("procman-exec-");
}

export function writeJson(file: string, value: unknown): string {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

export interface ServiceEvent {
  readonly name: string;
  readonly event: "start" | "ready" | "term" | "hup";
  readonly pid: number;
  readonly t: number;
}

/** The events the service fixtures appended to `file`, in order. */
export function readEvents(file: string): ServiceEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as ServiceEvent);
}

export function indexOfEvent(events: readonly ServiceEvent[], name: string, event: ServiceEvent["event"]): number {
  return events.findIndex((entry) => entry.name === name && entry.event === event);
}

/** A service.mjs process definition (model input); `env` adds to NAME and EVENTS. */
export function service(name: string, events: string, env: Record<string, string> = {}, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { foregroundProcess: NODE, args: [SERVICE], environment: { NAME: name, EVENTS: events, ...env }, ...fields };
}

/** Runs `procman ...args` in the background; the caller may kill it. */
export function startProcman(args: readonly string[], env: Record<string, string> = {}): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** What it printed so far. */
  output: () => string;
} {
  checkBuild();
  const child = spawn(NODE, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/nonexistent", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => stdout + stderr };
}

/**
 * Last resort after a test: SIGKILL every live process still tagged for the state dir, and its
 * process group (a failed assertion must not leak processes into the next test).
 * Returns what it had to kill, so a caller can also assert that nothing was left.
 */
export function killLeftovers(dir: string): number[] {
  const left = tagged(dir);
  for (const entry of left) {
    for (const target of [-entry.pgrp, entry.pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  return left.map((entry) => entry.pid);
}

/** An unrelated process the test owns (`sleep`): procman must never signal it. */
export function unrelatedProcess(): { pid: number; stop: () => void } {
  const child = spawn("sleep", ["1000"], { stdio: "ignore", detached: true });
  return {
    pid: child.pid!,
    stop: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    },
  };
}

/** The children a test file spawns, each killed (its group, then itself) after every test. */
export function killedAfterEach(suite: typeof uvuTest): ChildProcess[] {
  const spawned: ChildProcess[] = [];
  suite.after.each(() => {
    for (const child of spawned.splice(0)) {
      for (const target of [-child.pid!, child.pid!]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  });
  return spawned;
}
