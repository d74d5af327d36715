// Readiness checks against real processes: each kind passes only once the process really is
// ready, fails on timeout, and fails at once when the process dies first.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { identityOf, type ProcessIdentity } from "../../src/executor/proc.js";
import { NotReadyError, probeReadiness, readPidFile, waitUntilReady } from "../../src/executor/readiness.js";
import { createContext } from "../../src/model/context.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { resolve } from "../helpers/model.js";
import { NODE, SERVICE, alive, freePort, indexOfEvent, readEvents, unrelatedProcess, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const spawned: ChildProcess[] = [];
test.after.each(() => {
  for (const child of spawned.splice(0)) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
});

interface Started {
  readonly process: ResolvedProcess;
  readonly identity: ProcessIdentity;
  readonly events: string;
  readonly logOffset: number;
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
  return { process: process!, identity: identityOf(child.pid!)!, events, logOffset };
}

/** Waits for readiness; asserts it came after the process said it was ready. */
async function assertGated(started: Started): Promise<void> {
  await waitUntilReady(started.process, started.identity, started.logOffset);
  const events = readEvents(started.events);
  assert.ok(indexOfEvent(events, "service", "ready") >= 0, `ready passed before the process was ready: ${JSON.stringify(events)}`);
}

async function notReady(started: Started): Promise<NotReadyError> {
  try {
    await waitUntilReady(started.process, started.identity, started.logOffset);
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
  assert.is(error.message, `not ready after 0.8 s (GET http://127.0.0.1:${port}/ answers 200)`);
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
  assert.match(error.message, /^exited before it was ready \(TCP 127\.0\.0\.1:[0-9]+ accepts connections\)$/);
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

test.run();
