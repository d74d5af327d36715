// Readiness checks against real processes: each kind passes only once the process really is
// ready, fails on timeout, and fails at once when the process dies first.
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, openSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { identityOf, readProcStat, type ProcessIdentity } from "../../src/executor/proc.js";
import { LogScanner, NotReadyError, probeReadiness, readPidFile, waitUntilReady } from "../../src/executor/readiness.js";
import { createContext } from "../../src/model/context.js";
import type { ExitStatus } from "../../src/executor/launch.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { resolve } from "../helpers/model.js";
import { NODE, SERVICE, alive, freePort, indexOfEvent, killedAfterEach, readEvents, unrelatedProcess, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const spawned = killedAfterEach(test);

interface Started {
  readonly process: ResolvedProcess;
  readonly identity: ProcessIdentity;
  readonly events: string;
  readonly logOffset: number;
  readonly exit: Promise<ExitStatus>;
}

/** Resolves a service.mjs process with `readiness` and starts it as procman would (own group, output to its log). */
function start(env: Record<string, string>, readiness: Record<string, unknown>, options: { logBefore?: string } = {}): Started {
  const dir = makeTempDir();
  const events = path.join(dir, "events.jsonl");
  const context = createContext({ stateDir: dir, modelDir: dir });
  const [process] = resolve({ svc: { foregroundProcess: NODE, args: [SERVICE], environment: { EVENTS: events, ...env }, readiness } }, undefined, context).processes;
  mkdirSync(path.dirname(process!.logFile), { recursive: true });
  if (options.logBefore !== undefined) writeFileSync(process!.logFile, options.logBefore);
  const logOffset = options.logBefore === undefined ? 0 : statSync(process!.logFile).size;
  const log = openSync(process!.logFile, "a");
  const child = spawn(NODE, [SERVICE], { detached: true, stdio: ["ignore", log, log], env: process!.environment });
  closeSync(log);
  spawned.push(child);
  const exit = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { process: process!, identity: identityOf(child.pid!)!, events, logOffset, exit };
}

/** Waits for readiness; asserts it came after the process said it was ready. */
async function assertGated(started: Started): Promise<void> {
  await waitUntilReady(started.process, started.identity, started.logOffset);
  const events = readEvents(started.events);
  assert.ok(indexOfEvent(events, "service", "ready") >= 0, `ready passed before the process was ready: ${JSON.stringify(events)}`);
}

async function notReady(started: Started): Promise<NotReadyError> {
  try {
    await waitUntilReady(started.process, started.identity, started.logOffset, undefined, { exit: started.exit });
  } catch (error) {
    assert.instance(error, NotReadyError);
    return error as NotReadyError;
  }
  assert.unreachable("it counted as ready");
  throw new Error("unreachable");
}

test("tcp: ready once the port accepts, not before", async () => {
  const port = await freePort();
  await assertGated(start({ READY_DELAY: "300", TCP_PORT: String(port) }, { tcp: { port }, timeout: 10 }));
});

test("http: ready once the URL answers the expected status", async () => {
  const port = await freePort();
  await assertGated(start({ READY_DELAY: "300", HTTP_PORT: String(port), HTTP_STATUS: "204" }, { http: { url: `http://127.0.0.1:${port}/health`, status: 204 }, timeout: 10 }));
});

test("http: another status is not ready; the timeout is kept and named", async () => {
  const port = await freePort();
  const started = start({ HTTP_PORT: String(port), HTTP_STATUS: "503" }, { http: { url: `http://127.0.0.1:${port}/` }, timeout: 0.8 });
  const began = Date.now();
  const error = await notReady(started);
  assert.ok(Date.now() - began >= 800);
  assert.not.ok(error.exited);
  assert.is(error.message, `waiting for GET http://127.0.0.1:${port}/ to answer 200: it answered 503 after 0.8 s`);
  assert.ok(alive(started.identity.pid), "a timeout does not kill (undo does)");
});

test("command: runs with the process's environment; ready once it exits 0", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "ready file");
  await assertGated(start({ READY_DELAY: "300", READY_FILE: file }, { command: 'test -e "$READY_FILE"', timeout: 10 }));
});

test("logLine: only lines logged after the start count", async () => {
  // The log already holds the line from an earlier run: it must not count.
  const started = start({ READY_DELAY: "300", LOG_LINE: "server READY on 1234" }, { logLine: "READY on [0-9]+$", timeout: 10 }, {
    logBefore: "old run\nserver READY on 1234\n",
  });
  await assertGated(started);
});

test("pidFile: ready once the file names a live process; a stale PID file does not count", async () => {
  const dir = makeTempDir();
  const pidFile = path.join(dir, "svc.pid");
  const sleeper = unrelatedProcess();
  try {
    // A PID file from before that names a process that is gone.
    writeFileSync(pidFile, "4194300\n");
    const context = createContext({ stateDir: dir, modelDir: dir });
    const events = path.join(dir, "events.jsonl");
    const [process] = resolve(
      { svc: { daemon: NODE, daemonArgs: [SERVICE], pidFile, environment: { EVENTS: events }, readiness: { pidFile: true, timeout: 10 } } },
      undefined,
      context,
    ).processes;
    const child = spawn(NODE, [SERVICE], { detached: true, stdio: "ignore", env: { EVENTS: events, READY_DELAY: "300", PID_FILE: pidFile } });
    spawned.push(child);
    await waitUntilReady(process!, identityOf(child.pid!)!, 0);
    assert.ok(indexOfEvent(readEvents(events), "service", "ready") >= 0);
  } finally {
    sleeper.stop();
  }
});

test("a process that exits before it is ready fails at once, not at the timeout", async () => {
  const started = start({ EXIT_AT_ONCE: "3" }, { tcp: { port: await freePort() }, timeout: 20 });
  const began = Date.now();
  const error = await notReady(started);
  assert.ok(Date.now() - began < 5000, `took ${Date.now() - began} ms`);
  assert.ok(error.exited);
  assert.match(error.message, /^exited with code 3 before it was ready \(waiting for TCP 127\.0\.0\.1:[0-9]+ to accept connections on a socket of its own\)$/);
});

test("started (no check): ready when still alive one interval after the start", async () => {
  const started = start({}, {});
  assert.is(started.process.readiness.kind, "started");
  await waitUntilReady(started.process, started.identity, 0);
  const dead = start({ EXIT_AT_ONCE: "0" }, {});
  await waitFor(() => !alive(dead.identity.pid), 5000);
  assert.ok((await notReady(dead)).exited);
});

test("readPidFile: only a whole number naming a live process", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "p.pid");
  assert.is(readPidFile(file), undefined, "missing");
  for (const text of ["", "abc", "12 34", "-1", `${process.pid}x`, "4194300"]) {
    writeFileSync(file, text);
    assert.is(readPidFile(file), undefined, JSON.stringify(text));
  }
  writeFileSync(file, ` ${process.pid}\n`);
  assert.equal(readPidFile(file), identityOf(process.pid));
});

test("probeReadiness: one look, as status uses it", async () => {
  const port = await freePort();
  const started = start({ TCP_PORT: String(port) }, { tcp: { port }, timeout: 10 });
  await waitUntilReady(started.process, started.identity, 0);
  assert.ok(await probeReadiness(started.process));
  process.kill(-started.identity.pid, "SIGKILL");
  await waitFor(async () => !(await probeReadiness(started.process)), 5000, "the closed port");
});

// ---- the trust boundary: ready means the process's own listener, file or line ----

/** A spec with a readiness the model resolver may not offer yet (file, notify, tcp owned: false). */
function withReadiness(spec: ResolvedProcess, readiness: Record<string, unknown>): ResolvedProcess {
  return { ...spec, readiness: { timeout: 10, interval: 0.1, ...readiness } as ResolvedProcess["readiness"] };
}

/** A server in a process of its own (never procman's): listens on host:port, writes READY to `ready`. */
function listener(host: string, port: number, env: Record<string, string> = {}, options: { detached?: boolean } = {}): ChildProcess {
  const child = spawn(NODE, ["-e", `require("net").createServer(s => s.end()).listen(${port}, ${JSON.stringify(host)}, () => console.log("READY"))`], {
    detached: options.detached ?? true,
    stdio: ["ignore", "pipe", "ignore"],
    env: { PATH: "/usr/bin:/bin", ...env },
  });
  spawned.push(child);
  return child;
}

async function listening(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the listener exited (${code})`)));
  });
}

test("tcp: a port held by another program is not the process's readiness (it never listens itself)", async () => {
  const port = await freePort();
  const other = listener("127.0.0.1", port);
  await listening(other);
  const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 0.8 });
  const error = await notReady(started);
  assert.not.ok(error.exited);
  assert.match(error.message, `waiting for TCP 127.0.0.1:${port} to accept connections on a socket of its own: port ${port} is held by a listener that is not its own`);
});

test("tcp owned: false accepts any listener (a proxy, socket activation)", async () => {
  const port = await freePort();
  const other = listener("127.0.0.1", port);
  await listening(other);
  const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 5 });
  await waitUntilReady(withReadiness(started.process, { kind: "tcp", host: "127.0.0.1", port, owned: false }), started.identity, 0);
});

test("tcp: a listener of a child in its process group counts (a shell wrapper), on the IPv6 wildcard too", async () => {
  const port = await freePort();
  // sh leads the group; node, its child, holds the socket on [::] (dual stack: 127.0.0.1 reaches it).
  const script = `${NODE} -e 'require("net").createServer(s => s.end()).listen(${port}, "::")'; sleep 1000`;
  const child = spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" });
  spawned.push(child);
  const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 10 });
  await waitUntilReady(started.process, identityOf(child.pid!)!, 0, undefined, { pgid: child.pid! });
});

test("tcp: a listener of a process carrying its tag counts, in another session", async () => {
  const port = await freePort();
  const tagged = listener("127.0.0.1", port, { PROCMAN_TAG: "svc:abc:/state" });
  await listening(tagged);
  const sleeper = unrelatedProcess();
  try {
    const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 5 });
    const identity = identityOf(sleeper.pid)!;
    await waitUntilReady(started.process, identity, 0, undefined, { tag: "svc:abc:/state" });
    // Without the tag the same listener is not its own.
    const error = await waitUntilReady(withReadiness(started.process, { kind: "tcp", host: "127.0.0.1", port, owned: true, timeout: 0.5 }), identity, 0).then(
      () => undefined,
      (failure: Error) => failure,
    );
    assert.instance(error, NotReadyError);
  } finally {
    sleeper.stop();
  }
});

test("http: a local URL answered by another program's listener is not ready", async () => {
  const port = await freePort();
  const other = spawn(NODE, ["-e", `require("http").createServer((q, r) => r.end("x")).listen(${port}, "127.0.0.1", () => console.log("READY"))`], {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  spawned.push(other);
  await listening(other);
  const started = start({ NEVER_READY: "1" }, { http: { url: `http://localhost:${port}/` }, timeout: 0.8 });
  const error = await notReady(started);
  assert.match(error.message, `waiting for GET http://localhost:${port}/ to answer 200: port ${port} is held by a listener that is not its own`);
});

test("http: nothing listening says connection refused", async () => {
  const port = await freePort();
  const started = start({ NEVER_READY: "1" }, { http: { url: `http://127.0.0.1:${port}/` }, timeout: 0.5 });
  const error = await notReady(started);
  assert.match(error.message, /to answer 200: connection refused/);
});

test("a process that exits while its group's listener comes up is never ready (its leftover child holds the port)", async () => {
  const port = await freePort();
  // The process leaves a listener in its group and exits: the listener is its group's, the process is dead.
  const script = `(sleep 0.2; exec ${NODE} -e 'require("net").createServer(s => s.end()).listen(${port}, "127.0.0.1")') & exit 4`;
  const child = spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" });
  spawned.push(child);
  const exit = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 10 });
  // Read before the event loop runs again: until Node reaps it, even an exited child has its stat.
  const identity = { pid: child.pid!, startTime: readProcStat(child.pid!)!.startTime };
  const error = await waitUntilReady(started.process, identity, 0, undefined, { pgid: child.pid!, exit }).then(
    () => undefined,
    (failure: Error) => failure,
  );
  assert.instance(error, NotReadyError);
  assert.match((error as Error).message, /^exited with code 4 before it was ready/);
});

test("command: runs as the process's user, never as root", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP command as the process's user: needs root");
    return;
  }
  const started = start({}, { command: 'test "$(id -u)" = 65534 && test "$(id -g)" = 65534', timeout: 3 });
  const asNobody: ResolvedProcess = { ...started.process, user: "nobody" };
  await waitUntilReady(asNobody, started.identity, 0);
  const error = await waitUntilReady(started.process, started.identity, 0).then(() => undefined, (failure: Error) => failure);
  assert.instance(error, NotReadyError, "the same check as root must fail");
  assert.match((error as Error).message, /to exit 0: it exited with code 1 after 3 s$/, (error as Error).message);
});

test("file: a symlink never counts; a regular file written after the start does", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "ready");
  symlinkSync(path.join(dir, "elsewhere"), file);
  writeFileSync(path.join(dir, "elsewhere"), "x");
  const started = start({ NEVER_READY: "1" }, {});
  const spec = withReadiness(started.process, { kind: "file", path: file, timeout: 0.5 });
  const error = await waitUntilReady(spec, started.identity, 0).then(() => undefined, (failure: Error) => failure);
  assert.instance(error, NotReadyError);
  assert.match((error as Error).message, "it is a symbolic link, which never counts");
  rmSync(file);
  const writer = start({ READY_DELAY: "200", READY_FILE: file }, {});
  await waitUntilReady(withReadiness(writer.process, { kind: "file", path: file }), writer.identity, 0);
  assert.ok(indexOfEvent(readEvents(writer.events), "service", "ready") >= 0);
});

test("file: inotify wakes the wait long before the next poll", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "ready");
  const writer = start({ READY_DELAY: "200", READY_FILE: file }, {});
  const began = Date.now();
  await waitUntilReady(withReadiness(writer.process, { kind: "file", path: file, interval: 8, timeout: 20 }), writer.identity, 0);
  assert.ok(Date.now() - began < 6000, `woke after ${Date.now() - began} ms with an 8 s interval`);
});

test("logLine: read incrementally; a line split across two writes matches once complete; only after the offset", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "log");
  writeFileSync(file, "READY from an earlier run\n");
  const scanner = new LogScanner(file, statSync(file).size);
  const pattern = /^READY now$/;
  assert.not.ok(scanner.scan(pattern).ok);
  appendFileSync(file, "RE");
  assert.not.ok(scanner.scan(pattern).ok);
  appendFileSync(file, "ADY now");
  assert.not.ok(scanner.scan(pattern).ok, "an unfinished line");
  appendFileSync(file, "\n");
  assert.ok(scanner.scan(pattern).ok);
});

test("logLine: a 64 MiB log from before costs nothing (only what came after the offset is read)", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "log");
  writeFileSync(file, "");
  truncateSync(file, 64 * 1024 * 1024); // sparse: what came before
  const scanner = new LogScanner(file, statSync(file).size);
  appendFileSync(file, "\nserver READY\n");
  assert.ok(scanner.scan(/READY/).ok);
});

test("pidFile readiness: a FIFO in place of the PID file does not block; a symlink is not followed", async () => {
  const dir = makeTempDir();
  const fifo = path.join(dir, "svc.pid");
  execFileSync("mkfifo", [fifo]);
  const began = Date.now();
  assert.is(readPidFile(fifo), undefined);
  assert.ok(Date.now() - began < 1000);
  const link = path.join(dir, "link.pid");
  writeFileSync(path.join(dir, "real.pid"), `${process.pid}\n`);
  symlinkSync(path.join(dir, "real.pid"), link);
  assert.is(readPidFile(link), undefined);
});

test("probeReadiness with the owner (as status uses it): someone else's listener on the port is not ready", async () => {
  const port = await freePort();
  const other = listener("127.0.0.1", port);
  await listening(other);
  const started = start({ NEVER_READY: "1" }, { tcp: { port }, timeout: 5 });
  assert.ok(await probeReadiness(started.process), "without an owner: a plain connect");
  assert.not.ok(await probeReadiness(started.process, { pid: started.identity.pid }));
  assert.ok(await probeReadiness(started.process, { pid: other.pid! }));
});

test.run();
