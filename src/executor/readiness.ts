// Readiness gates: a dependent starts only once what it activatesAfter passes its check.
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import net from "node:net";
import { spawn } from "node:child_process";
import type { Readiness, ResolvedProcess } from "../model/types.js";
import { checkIdentity, identityOf, type ProcessIdentity } from "./proc.js";

export class NotReadyError extends Error {
  constructor(message: string, readonly exited: boolean) {
    super(message);
  }
}

/** Polls the check until it passes, the process dies (fails at once), or the timeout runs out. */
export async function waitUntilReady(
  process: ResolvedProcess,
  identity: ProcessIdentity,
  logOffset: number,
  signal?: AbortSignal,
): Promise<void> {
  const readiness = process.readiness;
  const deadline = Date.now() + readiness.timeout * 1000;
  const interval = readiness.interval * 1000;
  for (;;) {
    if (signal?.aborted === true) throw new AbandonedError();
    if (checkIdentity(identity) !== "running") {
      throw new NotReadyError(`exited before it was ready (${describeReadiness(readiness)})`, true);
    }
    const remaining = deadline - Date.now();
    if (await checkOnce(process, readiness, Math.max(50, Math.min(remaining, 2000)), logOffset)) {
      // "started" means: still alive one interval after the start.
      if (readiness.kind !== "started" || checkIdentity(identity) === "running") return;
    }
    if (Date.now() >= deadline) {
      throw new NotReadyError(`not ready after ${readiness.timeout} s (${describeReadiness(readiness)})`, false);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), signal);
  }
}

/** Another start of the same switch failed: this one is given up, and undone with the rest. */
export class AbandonedError extends Error {
  constructor() {
    super("abandoned: another process of this switch failed");
  }
}

export function describeReadiness(readiness: Readiness): string {
  switch (readiness.kind) {
    case "started": return "alive after its start";
    case "pidFile": return `PID file ${readiness.path} names a live process`;
    case "tcp": return `TCP ${readiness.host}:${readiness.port} accepts connections`;
    case "http": return `GET ${readiness.url} answers ${readiness.status}`;
    case "command": return `command ${JSON.stringify(readiness.command)} exits 0`;
    case "logLine": return `a log line matches /${readiness.pattern}/`;
    case "file": return `file ${readiness.path} appears`;
    case "notify": return `a line on descriptor ${readiness.fd}`;
  }
}

/** One look, for status: does the process pass its readiness check now? */
export function probeReadiness(process: ResolvedProcess): Promise<boolean> {
  const readiness = process.readiness;
  if (readiness.kind === "started" || readiness.kind === "logLine") return Promise.resolve(true);
  return checkOnce(process, readiness, 1000, 0);
}

async function checkOnce(process: ResolvedProcess, readiness: Readiness, timeoutMs: number, logOffset: number): Promise<boolean> {
  switch (readiness.kind) {
    case "started":
      await sleep(readiness.interval * 1000);
      return true;
    case "pidFile":
      return readPidFile(readiness.path) !== undefined;
    case "tcp":
      return tcpAccepts(readiness.host, readiness.port, timeoutMs);
    case "http":
      return httpAnswers(readiness.url, readiness.status, timeoutMs);
    case "command":
      return commandSucceeds(readiness.command, process, timeoutMs);
    case "logLine":
      return logMatches(process.logFile, logOffset, new RegExp(readiness.pattern));
    case "file":
    case "notify":
      return false; // not carried out yet (readiness file/notify)
  }
}

/** The live process a PID file names, if any. */
export function readPidFile(file: string): ProcessIdentity | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
  if (!/^[0-9]+$/.test(text)) return undefined;
  return identityOf(Number(text));
}

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

async function httpAnswers(url: string, status: number, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await response.body?.cancel();
    return response.status === status;
  } catch {
    return false;
  }
}

function commandSucceeds(command: string, process: ResolvedProcess, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], {
      env: process.environment,
      cwd: process.directory ?? "/",
      stdio: "ignore",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

/** Reads what the process logged since it started (from logOffset) and tests each line. */
async function logMatches(file: string, offset: number, pattern: RegExp): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch {
    return false;
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return false;
    const buffer = Buffer.alloc(Math.min(size - offset, 4 * 1024 * 1024));
    await handle.read(buffer, 0, buffer.length, Math.max(offset, size - buffer.length));
    return buffer.toString("utf8").split("\n").some((line) => pattern.test(line));
  } finally {
    await handle.close();
  }
}

/** Resolves after ms, or as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
