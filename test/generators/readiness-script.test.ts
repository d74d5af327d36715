// The readiness snippets of generators/readiness-script.ts, run with /bin/sh against real sockets,
// PID files, commands and log files: the check exits 0 only when ready; the wait loop gives up
// after its timeout with exit 1; the dependency wrapper execs the program with its exact argv.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { dependencyWrapper, readinessCheck, removeStaleReadyFile, startWrapper, waitForReady } from "../../generators/readiness-script.js";
import { createContext } from "../../src/model/context.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { resolveModel } from "../../src/resolve-model.js";
import { makeTempDir } from "../helpers/tmp.js";
import { HOSTILE_ARGS, MULTILINE_ARGS, freePort, isAlive, waitFor } from "./hostile.js";
import { need } from "./target-tools.js";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One process of a one-process model, resolved as procman would. */
function processWith(fields: Record<string, unknown>, dir = makeTempDir("procman-ready-")): ResolvedProcess {
  const model = resolveModel({ p: { foregroundProcess: "/bin/sleep", args: ["1000"], ...fields } }, createContext({ stateDir: path.join(dir, "state"), modelDir: dir }), {
    nameMustMatchKey: false,
  });
  return model.processes[0]!;
}

interface ShRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Runs sh source with /bin/sh -c, asynchronously (the test process serves the sockets meanwhile). */
function sh(script: string, args: readonly string[] = [], env: Record<string, string> = { PATH }, timeoutMs = 20_000): Promise<ShRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("/bin/sh", ["-c", script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sh did not finish within ${timeoutMs} ms: ${script}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

function check(spec: ResolvedProcess): string {
  const text = readinessCheck(spec.readiness, spec.logFile, spec);
  assert.type(text, "string");
  return text!;
}

async function listen(server: net.Server, port: number): Promise<void> {
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
}

async function close(server: net.Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test("started: no check (alive after its start)", () => {
  const spec = processWith({});
  assert.is(spec.readiness.kind, "started");
  assert.is(readinessCheck(spec.readiness, spec.logFile, spec), undefined);
  assert.is(waitForReady(spec), undefined);
});

test("tcp: exits 0 while the port listens, non-zero before and after", async () => {
  if (!need("bash", "tcp readiness")) return;
  const port = await freePort();
  const spec = processWith({ readiness: { tcp: { port } } });
  assert.is.not((await sh(check(spec))).status, 0, "nothing listens yet");
  const server = net.createServer((socket) => socket.destroy());
  await listen(server, port);
  try {
    const ready = await sh(check(spec));
    assert.is(ready.status, 0, ready.stderr);
  } finally {
    await close(server);
  }
  assert.is.not((await sh(check(spec))).status, 0, "closed again");
});

test("tcp: the host is data, never bash source", async () => {
  if (!need("bash", "tcp readiness host")) return;
  const dir = makeTempDir("procman-ready-");
  const marker = path.join(dir, "injected");
  const port = await freePort();
  const server = net.createServer((socket) => socket.destroy());
  await listen(server, port);
  try {
    // Validation refuses such a host now; the generated check must not depend on it.
    const resolved = processWith({ readiness: { tcp: { port } } }, dir);
    const spec: ResolvedProcess = { ...resolved, readiness: { ...resolved.readiness, kind: "tcp", port, owned: true, host: `127.0.0.1/${port}; touch '${marker}'; : ` } };
    const result = await sh(check(spec));
    assert.is.not(result.status, 0);
    assert.not.ok(existsSync(marker), "the host was run as a command");
  } finally {
    await close(server);
  }
});

test("pidFile: a live PID (with or without a trailing newline); not a dead PID, an empty, garbage or missing file", async () => {
  const dir = makeTempDir("procman-ready-");
  const pidFile = path.join(dir, "run dir $X", "p.pid");
  const spec = processWith({ daemon: "/bin/true", foregroundProcess: undefined, pidFile }, dir);
  assert.is(spec.readiness.kind, "pidFile");
  const script = check(spec);
  assert.is.not((await sh(script)).status, 0, "missing");
  mkdirSync(path.dirname(pidFile), { recursive: true });
  const live = spawn("/bin/sleep", ["1000"], { stdio: "ignore" });
  try {
    for (const [contents, ready] of [
      [`${live.pid}\n`, true],
      [`${live.pid}`, true],
      ["", false],
      ["garbage\n", false],
      ["999999999\n", false],
    ] as const) {
      writeFileSync(pidFile, contents);
      const result = await sh(script);
      assert.is(result.status === 0, ready, `PID file ${JSON.stringify(contents)}: exit ${result.status} ${result.stderr}`);
      assert.is(result.stderr, "");
    }
  } finally {
    live.kill("SIGKILL");
  }
  await new Promise((resolve) => live.once("exit", resolve));
  writeFileSync(pidFile, `${live.pid}\n`);
  assert.is.not((await sh(script)).status, 0, "the PID is gone");
});

test("command: exit status of the command, run with the process's exact environment in its directory", async () => {
  const dir = makeTempDir("procman-ready-");
  const workDir = path.join(dir, "work 'dir'");
  mkdirSync(workDir);
  const flag = path.join(dir, "flag");
  const command = `[ "$GREETING" = 'hello "world" $X \\n' ] && [ "$(pwd)" = "$WORK" ] && [ -z "$OUTSIDE" ] && [ -e "$FLAG" ]`;
  const spec = processWith({
    directory: workDir,
    environment: { GREETING: 'hello "world" $X \\n', WORK: workDir, FLAG: flag },
    readiness: { command },
  }, dir);
  const script = check(spec);
  assert.is.not((await sh(script, [], { PATH, OUTSIDE: "x" })).status, 0, "no flag yet");
  writeFileSync(flag, "");
  const ready = await sh(script, [], { PATH, OUTSIDE: "x" });
  assert.is(ready.status, 0, ready.stderr);
  const failing = processWith({ readiness: { command: "exit 3" } });
  assert.is((await sh(check(failing))).status, 3);
});

test("logLine: exits 0 once a line of the log matches, not before, not without the file", async () => {
  const spec = processWith({ readiness: { logLine: "^-ready on port [0-9]+$" } });
  const script = check(spec);
  assert.is.not((await sh(script)).status, 0, "no log file");
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  writeFileSync(spec.logFile, "starting\nnot -ready on port 1\n");
  assert.is.not((await sh(script)).status, 0, "no matching line");
  writeFileSync(spec.logFile, "starting\n-ready on port 8080\nmore\n");
  const ready = await sh(script);
  assert.is(ready.status, 0, ready.stderr);
});

test("file: a regular file counts, a symlink or a directory does not; the stale one is removed first without following a link", async () => {
  const dir = makeTempDir("procman-ready-");
  const ready = path.join(dir, "it's ready $x");
  const spec: ResolvedProcess = { ...processWith({}, dir), readiness: { kind: "file", path: ready, timeout: 5, interval: 0.1 } };
  const script = check(spec);
  assert.is.not((await sh(script)).status, 0, "no file");
  writeFileSync(path.join(dir, "target"), "kept");
  symlinkSync(path.join(dir, "target"), ready);
  assert.is.not((await sh(script)).status, 0, "a symlink to a regular file");
  const remove = removeStaleReadyFile(spec.readiness)!;
  assert.is((await sh(remove)).status, 0);
  assert.not.ok(existsSync(ready));
  assert.is(readFileSync(path.join(dir, "target"), "utf8"), "kept", "rm removed the link, not its target");
  mkdirSync(ready);
  assert.is.not((await sh(script)).status, 0, "a directory");
  rmSync(ready, { recursive: true });
  writeFileSync(ready, "");
  const passed = await sh(script);
  assert.is(passed.status, 0, passed.stderr);
  assert.is(removeStaleReadyFile({ kind: "started", timeout: 1, interval: 1 }), undefined);
  // The start wrapper of launchd and supervisord removes it before the program starts.
  const wrapper = startWrapper([], spec)!;
  const started = await sh(wrapper, ["/bin/sh", "-c", "[ ! -e \"$1\" ] && echo gone", "sh", ready]);
  assert.is(started.stdout, "gone\n", started.stderr);
});

test("notify: no command can check a descriptor; dependents wait for the notify proxy's marker", async () => {
  const spec: ResolvedProcess = { ...processWith({}), readiness: { kind: "notify", fd: 3, timeout: 1, interval: 0.1 } };
  assert.is(readinessCheck(spec.readiness, spec.logFile, spec), undefined);
  const marker = path.join(path.dirname(spec.pidFile), "p.ready");
  const wait = waitForReady(spec)!;
  assert.match(wait, marker);
  assert.is((await sh(wait)).status, 1, "no marker: not ready");
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, "");
  assert.is((await sh(wait)).status, 0);
});

test("http: exits 0 only when the URL answers the expected status", async () => {
  if (!need("curl", "http readiness")) return;
  const port = await freePort();
  let status = 503;
  const server = http.createServer((_, response) => {
    response.statusCode = status;
    response.end("x");
  });
  await listen(server, port);
  try {
    const spec = processWith({ readiness: { http: { url: `http://127.0.0.1:${port}/health?a=1&b=%20`, status: 204 } } });
    const script = check(spec);
    assert.is.not((await sh(script)).status, 0, "503");
    status = 204;
    const ready = await sh(script);
    assert.is(ready.status, 0, ready.stderr);
  } finally {
    await close(server);
  }
});

test("waitForReady: gives up with exit 1 and a message once the timeout has passed, not before", async () => {
  if (!need("bash", "waitForReady timeout")) return;
  const port = await freePort();
  for (const timeout of [1, 0.5, 2]) {
    const spec = processWith({ readiness: { tcp: { port }, timeout, interval: 0.1 } });
    const result = await sh(waitForReady(spec)!);
    assert.is(result.status, 1, `timeout ${timeout}: ${result.stderr}`);
    assert.match(result.stderr, `procman: p not ready after ${timeout} s`);
    assert.ok(result.elapsedMs >= timeout * 1000, `gave up after ${result.elapsedMs} ms, before the timeout of ${timeout} s`);
    assert.ok(result.elapsedMs < Math.ceil(timeout) * 1000 + 2500, `gave up only after ${result.elapsedMs} ms (timeout ${timeout} s)`);
  }
});

test("waitForReady: exits 0 as soon as the check passes", async () => {
  if (!need("bash", "waitForReady ready")) return;
  const port = await freePort();
  const spec = processWith({ readiness: { tcp: { port }, timeout: 20, interval: 0.1 } });
  const server = net.createServer((socket) => socket.destroy());
  const opened = setTimeout(() => server.listen(port, "127.0.0.1"), 700);
  try {
    const result = await sh(waitForReady(spec)!);
    assert.is(result.status, 0, result.stderr);
    assert.ok(result.elapsedMs >= 600 && result.elapsedMs < 5000, `${result.elapsedMs} ms`);
  } finally {
    clearTimeout(opened);
    if (server.listening) await close(server);
  }
});

test("dependencyWrapper: waits for each dependency, then execs the program with its argv untouched", async () => {
  if (!need("bash", "dependencyWrapper")) return;
  const dir = makeTempDir("procman-ready-");
  const [port1, port2] = [await freePort(), await freePort()];
  const first = processWith({ readiness: { tcp: { port: port1 }, timeout: 20 } }, dir);
  const second = processWith({ readiness: { tcp: { port: port2 }, timeout: 20 } }, dir);
  const started = processWith({}, dir);
  assert.is(dependencyWrapper([started]), undefined, "nothing to wait for");
  const wrapper = dependencyWrapper([first, started, second])!;
  const args = [...HOSTILE_ARGS, ...MULTILINE_ARGS];
  const servers = [net.createServer((socket) => socket.destroy()), net.createServer((socket) => socket.destroy())];
  const timers = [setTimeout(() => servers[0]!.listen(port1, "127.0.0.1"), 300), setTimeout(() => servers[1]!.listen(port2, "127.0.0.1"), 900)];
  try {
    const result = await sh(wrapper, ["/usr/bin/printf", "%s\\0", ...args]);
    assert.is(result.status, 0, result.stderr);
    assert.ok(result.elapsedMs >= 800, `exec'd after ${result.elapsedMs} ms, before the second dependency listened`);
    const printed = result.stdout.split("\0");
    printed.pop();
    assert.equal(printed, args);
  } finally {
    timers.forEach(clearTimeout);
    for (const server of servers) if (server.listening) await close(server);
  }
  // The program replaces the wrapper (exec): its PID is the wrapper's.
  const child = spawn("/bin/sh", ["-c", dependencyWrapper([first])!, "/bin/sleep", "1000"], { stdio: "ignore" });
  const server = net.createServer((socket) => socket.destroy());
  await listen(server, port1);
  try {
    await waitFor("the wrapper to exec sleep", () => readFileSync(`/proc/${child.pid}/cmdline`, "utf8").startsWith("/bin/sleep\u00001000"));
  } finally {
    child.kill("SIGKILL");
    await close(server);
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once("exit", resolve)));
  }
  assert.not.ok(isAlive(child.pid!));
});

test("startWrapper: initialize runs once the dependencies are ready, in the directory with exactly the environment; a failure stops there", async () => {
  if (!need("bash", "startWrapper")) return;
  const dir = makeTempDir("procman-ready-");
  const port = await freePort();
  const dependency = processWith({ readiness: { tcp: { port }, timeout: 20 } }, dir);
  const work = path.join(dir, "work $dir");
  mkdirSync(work);
  const marker = path.join(dir, "initialized");
  const initialize = `[ -z "$OUTSIDE" ] && printf '%s|%s|%s' "$(pwd)" "$VALUE" "$(date +%s%N)" > '${marker}'`;
  const spec = processWith({ directory: work, environment: { VALUE: "it's \"x\" $y" }, initialize }, dir);
  assert.is(startWrapper([], processWith({}, dir)), undefined, "nothing to do first");
  const wrapper = startWrapper([dependency], spec, spec.environment)!;
  const server = net.createServer((socket) => socket.destroy());
  let listenedAt = 0;
  const timer = setTimeout(() => {
    listenedAt = Date.now(); // just before: the port cannot accept earlier
    server.listen(port, "127.0.0.1");
  }, 500);
  try {
    // The manager puts the values in the environment the wrapper starts with; the wrapper's text
    // holds only the names.
    assert.not.ok(wrapper.includes("it's"), "a value is in the wrapper's text");
    const result = await sh(wrapper, ["/usr/bin/env"], { PATH, OUTSIDE: "x", ...spec.environment });
    assert.is(result.status, 0, result.stderr);
    const [cwd, value, nanos] = readFileSync(marker, "utf8").split("|");
    assert.is(cwd, work);
    assert.is(value, "it's \"x\" $y");
    assert.ok(listenedAt > 0 && Number(nanos) / 1e6 >= listenedAt, "initialize ran before the dependency was ready");
    // The program gets exactly its environment (no PWD from the sh, no OUTSIDE).
    assert.equal(result.stdout.split("\n").filter(Boolean).sort(), [`PATH=${PATH}`, "VALUE=it's \"x\" $y"]);
  } finally {
    clearTimeout(timer);
    if (server.listening) await close(server);
  }
  const failing = processWith({ initialize: "echo no >&2; exit 4" }, dir);
  const result = await sh(startWrapper([], failing)!, ["/bin/echo", "program ran"]);
  assert.is(result.status, 1);
  assert.is(result.stdout, "");
  assert.is(result.stderr, "no\nprocman: p: initialize failed\n");
});

test.run();
