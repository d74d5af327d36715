// Readiness gates: a dependent starts only once what it activatesAfter passes its check. A check
// says what it waited for and what happened; a process that is dead when it would be declared
// ready is never ready. Waits wake on inotify (fs.watch) where that is cheap, with the interval
// poll as the fallback.
import { closeSync, lstatSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Readiness, ResolvedProcess } from "../model/types.js";
import { onAbort } from "./abort-listeners.js";
import { aliveAfter } from "./alive-wait.js";
import type { ExitStatus } from "./launch.js";
import { addressesOf, anyListener, canonicalAddress, isLocalAddress, listenerOwnedBy, type ListenerOwner } from "./listeners.js";
import type { NotifyChannel } from "./notify.js";
import { checkIdentity, identityOf, stillRuns, type ProcessIdentity } from "./proc.js";
import { fileTestOf, type FileTest } from "./file-test.js";
import { changesIdentity, runShellAs, wrapCommand } from "./run-as.js";
import type { SpawnRunner } from "./spawn-runner.js";
import { openServiceFile, readAt, readPidLine } from "./safe-file.js";
import { pollUntilReady, type CheckResult, type WatchTarget } from "./polled-wait.js";

export class NotReadyError extends Error {
  constructor(message: string, readonly exited: boolean) {
    super(message);
  }
}

/** What else a wait may know about the start (all optional: a kept process has only its record). */
export interface ReadyContext {
  /** PROCMAN_TAG of the start: tagged processes' listeners count as the process's own. */
  readonly tag?: string;
  readonly pgid?: number;
  readonly sid?: number;
  /** Foreground: the child's exit, to say how it ended. */
  readonly exit?: PromiseLike<ExitStatus>;
  /** readiness notify: the channel launch opened. */
  readonly notify?: NotifyChannel;
  /** readiness command: the shell that forks the checks (no fork of procman per poll). */
  readonly runner?: SpawnRunner;
}

/** Polls the check until it passes, the process dies (fails at once), or the timeout runs out. */
export async function waitUntilReady(
  spec: ResolvedProcess,
  identity: ProcessIdentity,
  logOffset: number,
  signal?: AbortSignal,
  context: ReadyContext = {},
): Promise<void> {
  const readiness = spec.readiness;
  if (readiness.kind === "started") {
    // The default: no loop of its own. Every such wait shares one queue and timer (alive-wait.ts)
    // and is looked at once, when its interval is over.
    const outcome = await aliveAfter(identity, readiness.interval * 1000, signal);
    if (outcome === "alive") return;
    if (outcome === "abandoned") throw new AbandonedError();
    throw await exitedError(spec, context);
  }
  const began = Date.now();
  const deadline = began + readiness.timeout * 1000;
  const interval = readiness.interval * 1000;
  // Only what this kind of check uses is made (a wide layer makes hundreds of these waits).
  const state: CheckState = {
    owner: readiness.kind === "tcp" || readiness.kind === "http" ? ownerOf(identity, context) : undefined,
    log: readiness.kind === "logLine" ? new LogScanner(spec.logFile, logOffset) : undefined,
    fileTest: fileTestFor(spec, readiness),
    context,
    signal,
  };
  const polled = polledCheck(spec, readiness, state);
  if (polled !== undefined) {
    try {
      const outcome = await pollUntilReady({
        identity,
        check: polled,
        intervalMs: interval,
        timeoutMs: readiness.timeout * 1000,
        targets: watchTargets(spec, readiness, state.fileTest),
        signal,
      });
      switch (outcome.kind) {
        case "ready": return;
        case "abandoned": throw new AbandonedError();
        case "dead": throw await exitedError(spec, context);
        case "timeout": throw new NotReadyError(`waiting for ${describeReadiness(readiness)}: ${outcome.why} after ${readiness.timeout} s`, false);
        case "error": throw outcome.error;
      }
    } finally {
      context.notify?.close();
    }
  }
  // A check that takes a connection or a shell: a loop of its own.
  let last = "";
  // A death is noticed within 100 ms (or the interval, if longer), not on every poll: /proc reads
  // add up over a wide layer polled every 20 ms. A passing check always looks (below); launch has
  // just looked (its identity), so the first look is 100 ms from now.
  let lookedAt = began;
  try {
    for (;;) {
      if (signal?.aborted === true) throw new AbandonedError();
      if (Date.now() - lookedAt >= 100) {
        if (!stillRuns(checkIdentity(identity))) throw await exitedError(spec, context);
        lookedAt = Date.now();
      }
      const remaining = deadline - Date.now();
      const result = await checkOnce(spec, readiness, Math.max(50, Math.min(remaining, 2000)), state);
      if (result.ok) {
        // Dead when it would be declared ready: never ready (a listener, file or line left behind).
        if (stillRuns(checkIdentity(identity))) return;
        throw await exitedError(spec, context);
      }
      last = result.why;
      if (Date.now() >= deadline) {
        throw new NotReadyError(`waiting for ${describeReadiness(readiness)}: ${last} after ${readiness.timeout} s`, false);
      }
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), signal);
    }
  } finally {
    context.notify?.close(); // the child keeps its end: no SIGPIPE for it, ever
  }
}

function ownerOf(identity: ProcessIdentity, context: ReadyContext): ListenerOwner {
  return { pid: identity.pid, pgid: context.pgid, session: context.sid, tag: context.tag };
}

async function exitedError(spec: ResolvedProcess, context: ReadyContext): Promise<NotReadyError> {
  // Node reaps its child a moment after /proc shows it dead: wait a little for the status.
  const status = context.exit === undefined ? undefined : await Promise.race([context.exit, sleep(500).then(() => undefined)]);
  const how = status === undefined ? "exited" : status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  return new NotReadyError(`${how} before it was ready (waiting for ${describeReadiness(spec.readiness)})`, true);
}

/** Another start of the same switch failed: this one is given up, and undone with the rest. */
export class AbandonedError extends Error {
  constructor() {
    super("abandoned: another process of this switch failed");
  }
}

/** What a wait waits for, as "waiting for …" completes it. */
export function describeReadiness(readiness: Readiness): string {
  switch (readiness.kind) {
    case "started": return `it to stay alive ${readiness.interval} s after its start`;
    case "pidFile": return `PID file ${readiness.path} to name a live process`;
    case "tcp": return `TCP ${readiness.host}:${readiness.port} to accept connections${readiness.owned ? " on a socket of its own" : ""}`;
    case "http": return `GET ${readiness.url} to answer ${readiness.status}`;
    case "command": return `command ${JSON.stringify(readiness.command)} to exit 0`;
    case "logLine": return `a log line matching /${readiness.pattern}/`;
    case "file": return `file ${readiness.path} to appear`;
    case "notify": return `a line on descriptor ${readiness.fd}`;
  }
}

/**
 * One look, for status: does the process pass its readiness check now? With `identity` (and its
 * group, session and tag) a tcp or local http check also requires the listener to be its own.
 */
export async function probeReadiness(spec: ResolvedProcess, owner?: ListenerOwner): Promise<boolean> {
  const readiness = spec.readiness;
  if (readiness.kind === "started" || readiness.kind === "logLine" || readiness.kind === "notify") return true;
  const result = await checkOnce(spec, readiness, 1000, { owner, fileTest: fileTestFor(spec, readiness), context: {} });
  return result.ok;
}

interface CheckState {
  readonly owner?: ListenerOwner | undefined;
  readonly log?: LogScanner | undefined;
  /** readiness command: the file test procman answers itself, if it is one (once per wait). */
  readonly fileTest?: FileTest | undefined;
  readonly context: ReadyContext;
  readonly signal?: AbortSignal | undefined;
}

async function checkOnce(spec: ResolvedProcess, readiness: Readiness, timeoutMs: number, state: CheckState): Promise<CheckResult> {
  switch (readiness.kind) {
    case "started":
      await sleep(readiness.interval * 1000, state.signal);
      return { ok: true };
    case "pidFile":
      return pidFileNamesLive(readiness.path);
    case "tcp":
      return tcpReady(readiness.host, readiness.port, readiness.owned ? state.owner : undefined, timeoutMs);
    case "http":
      return httpReady(readiness.url, readiness.status, state.owner, timeoutMs);
    case "command": {
      const fileTest = state.fileTest;
      if (fileTest !== undefined) return fileTest(spec.directory ?? "/") ? { ok: true } : { ok: false, why: "it exited with code 1" };
      const runner = state.context.runner;
      const argv = wrapCommand(spec, { executable: "/bin/sh", args: ["-c", readiness.command] });
      if (runner !== undefined && runner.canRun(argv[0]!, spec.environment, argv)) {
        try {
          return await runner.check({ argv, environment: spec.environment, directory: spec.directory ?? "/", umask: spec.umask }, timeoutMs);
        } catch {
          // The shell is unavailable or gone: the check runs as before.
        }
      }
      const outcome = await runShellAs(spec, readiness.command, { timeoutMs });
      return outcome.ok ? outcome : { ok: false, why: outcome.why };
    }
    case "logLine":
      return (state.log ?? new LogScanner(spec.logFile, 0)).scan(new RegExp(readiness.pattern));
    case "file":
      return fileAppeared(readiness.path);
    case "notify":
      return notified(state.context.notify, Math.min(timeoutMs, readiness.interval * 1000), state.signal);
  }
}

/** The live process a PID file names, if any (read without following a link, within 64 bytes). */
export function readPidFile(file: string): ProcessIdentity | undefined {
  let text: string | undefined;
  try {
    text = readPidLine(file);
  } catch {
    return undefined;
  }
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  return identityOf(Number(text));
}

function pidFileNamesLive(file: string): CheckResult {
  let text: string | undefined;
  try {
    text = readPidLine(file);
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
  if (text === undefined) return { ok: false, why: "it does not exist" };
  if (!/^[0-9]{1,10}$/.test(text)) return { ok: false, why: `it holds ${JSON.stringify(text.slice(0, 20))}, not a PID` };
  return identityOf(Number(text)) !== undefined ? { ok: true } : { ok: false, why: `PID ${text} is not running` };
}

async function tcpReady(host: string, port: number, owner: ListenerOwner | undefined, timeoutMs: number): Promise<CheckResult> {
  if (owner !== undefined) {
    const addresses = await addressesOf(host);
    if (listenerOwnedBy(addresses, port, owner) === undefined) {
      return anyListener(addresses, port, owner.pid)
        ? { ok: false, why: `port ${port} is held by a listener that is not its own (nor its group's, session's or tagged processes')` }
        : { ok: false, why: "nothing listens there" };
    }
  }
  return tcpAccepts(host, port, timeoutMs);
}

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (result: CheckResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, why: "the connection timed out" }));
    socket.once("connect", () => finish({ ok: true }));
    socket.once("error", (error: NodeJS.ErrnoException) => finish({ ok: false, why: connectionError(error) }));
  });
}

function connectionError(error: NodeJS.ErrnoException): string {
  const cause = (error.cause as NodeJS.ErrnoException | undefined)?.code ?? error.code;
  if (cause === "ECONNREFUSED") return "connection refused";
  if (cause === "ECONNRESET") return "connection reset";
  if (cause === "ETIMEDOUT" || error.name === "TimeoutError") return "timed out";
  return cause ?? error.message;
}

async function httpReady(url: string, status: number, owner: ListenerOwner | undefined, timeoutMs: number): Promise<CheckResult> {
  if (owner !== undefined) {
    // A local URL must be served by the process's own listener, as for tcp.
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, "");
    const addresses = await addressesOf(host);
    const local = [...addresses].some(isLocalAddress) || (canonicalAddress(host) === undefined && host === "localhost");
    if (local) {
      const port = parsed.port !== "" ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
      if (listenerOwnedBy(addresses, port, owner) === undefined) {
        return anyListener(addresses, port, owner.pid)
          ? { ok: false, why: `port ${port} is held by a listener that is not its own` }
          : { ok: false, why: "connection refused (nothing listens there)" };
      }
    }
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await response.body?.cancel();
    return response.status === status ? { ok: true } : { ok: false, why: `it answered ${response.status}` };
  } catch (error) {
    return { ok: false, why: connectionError(error as NodeJS.ErrnoException) };
  }
}

/** readiness file: a regular file, never a symlink (launch removed any from an earlier run). */
function fileAppeared(file: string): CheckResult {
  try {
    // Missing is the usual answer while a wait polls: no exception built for it.
    const stat = lstatSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return { ok: false, why: "it does not exist" };
    if (stat.isSymbolicLink()) return { ok: false, why: "it is a symbolic link, which never counts" };
    if (!stat.isFile()) return { ok: false, why: "it is not a regular file" };
    return { ok: true };
  } catch {
    return { ok: false, why: "it does not exist" };
  }
}

async function notified(channel: NotifyChannel | undefined, ms: number, signal?: AbortSignal): Promise<CheckResult> {
  // A kept process (no channel): its notification was read when it started.
  if (channel === undefined) return { ok: true };
  if (channel.received()) return { ok: true };
  const line = await Promise.race([channel.line, sleep(ms, signal).then(() => null)]);
  if (line === null) return { ok: false, why: "no line yet" };
  if (line === undefined) return { ok: false, why: "the descriptor was closed without a line" };
  return { ok: true };
}

/**
 * logLine: reads the log incrementally from where the last look stopped (never the whole log),
 * within a bound per look; a partial last line is kept for the next look.
 */
export class LogScanner {
  private carry = "";
  private seenSize = -1;
  constructor(private readonly file: string, private offset: number) {}

  scan(pattern: RegExp): CheckResult {
    // Nothing written since the last look: one stat instead of an open, a read and a close. (It
    // follows a link only to compare sizes; what is read is opened without following one.)
    try {
      const size = statSync(this.file).size;
      if (size === this.seenSize) return { ok: false, why: "no line matched yet" };
      this.seenSize = size;
    } catch {
      this.seenSize = -1;
    }
    let opened;
    try {
      opened = openServiceFile(this.file);
    } catch (error) {
      this.seenSize = -1;
      return { ok: false, why: (error as Error).message };
    }
    if (opened === undefined) {
      this.seenSize = -1;
      return { ok: false, why: "the log does not exist" };
    }
    try {
      const size = opened.stat.size;
      if (size < this.offset) {
        // Rotated or truncated: what is there now is new.
        this.offset = 0;
        this.carry = "";
      }
      const length = Math.min(size - this.offset, 1024 * 1024);
      if (length > 0) {
        const read = readAt(opened.fd, this.offset, length);
        this.offset += read.length;
        const lines = (this.carry + read.toString("utf8")).split("\n");
        this.carry = lines.pop()!.slice(-64 * 1024);
        if (lines.some((line) => pattern.test(line))) return { ok: true };
      }
      return { ok: false, why: "no line matched yet" };
    } finally {
      closeSync(opened.fd);
    }
  }
}

/**
 * The check as one synchronous call, for the kinds that are one or two system calls (polled-wait.ts);
 * undefined for a check that takes a connection, a shell or a descriptor's line.
 */
function polledCheck(spec: ResolvedProcess, readiness: Readiness, state: CheckState): (() => CheckResult) | undefined {
  switch (readiness.kind) {
    case "file":
      return () => fileAppeared(readiness.path);
    case "pidFile":
      return () => pidFileNamesLive(readiness.path);
    case "logLine": {
      const log = state.log!;
      const pattern = new RegExp(readiness.pattern);
      return () => log.scan(pattern);
    }
    case "command": {
      const fileTest = state.fileTest;
      if (fileTest === undefined) return undefined;
      const directory = spec.directory ?? "/";
      return () => (fileTest(directory) ? { ok: true } : { ok: false, why: "it exited with code 1" });
    }
    default:
      return undefined;
  }
}

/** readiness command run as procman itself anyway: a bare `test -e FILE` needs no shell (file-test.ts). */
function fileTestFor(spec: ResolvedProcess, readiness: Readiness): FileTest | undefined {
  return readiness.kind === "command" && !changesIdentity(spec) ? fileTestOf(readiness.command) : undefined;
}

/** The directory entries whose changes may make the check pass: a change wakes the wait at once. */
function watchTargets(spec: ResolvedProcess, readiness: Readiness, fileTest: FileTest | undefined): WatchTarget[] {
  let file: string | undefined;
  switch (readiness.kind) {
    case "file":
    case "pidFile":
      file = readiness.path;
      break;
    case "logLine":
      file = spec.logFile;
      break;
    case "command":
      // Only a check procman answers itself says what it looks at; a shell command could look anywhere.
      file = fileTest?.file;
      break;
    default:
      file = undefined;
  }
  return file === undefined ? [] : [{ directory: path.dirname(file), name: path.basename(file) }];
}

/** Resolves after ms, or as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = () => {
      clearTimeout(timer);
      unlisten?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unlisten = signal === undefined ? undefined : onAbort(signal, done);
  });
}
