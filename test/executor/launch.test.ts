// launch: what a started process gets (exactly the model's environment, argv byte for byte, cwd,
// umask, nice, its own session, log and PID file) and how daemons are adopted by their PID file.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StartError, TAG_VARIABLE, launch, logTail, tagFor, type Launched } from "../../src/executor/launch.js";
import { claimedIds } from "../../src/executor/pid-trust.js";
import { identityOf, readProcStat } from "../../src/executor/proc.js";
import { terminate } from "../../src/executor/terminate.js";
import { createContext } from "../../src/model/context.js";
import { MINIMAL_PATH } from "../../src/model/normalize.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { resolve } from "../helpers/model.js";
import { DAEMON, NODE, REPORT, SERVICE, alive, tagged, unrelatedProcess, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

/** Every character a naive quoting would break. */
const HOSTILE = [
  "with space",
  "it's",
  'say "hi"',
  "$HOME and ${PATH}",
  "100%",
  "%PATH%",
  "a;b && c | d",
  "back\\slash\\\\",
  "tab\there",
  "new\nline",
  "",
  "ünï €",
  "*",
  "`echo no`",
  "$(echo no)",
  "-n",
];

const launched: { launched: Launched; process: ResolvedProcess }[] = [];
test.after.each(async () => {
  for (const { launched: entry, process } of launched.splice(0)) {
    await terminate({ name: process.name, pid: entry.pid, startTime: entry.startTime, stopSignal: "SIGKILL", stopTimeout: 5, pidFile: process.pidFile });
  }
});

function model(fields: Record<string, unknown>, name = "svc"): { process: ResolvedProcess; stateDir: string } {
  const stateDir = makeTempDir("procman-launch-");
  const context = createContext({ stateDir, modelDir: stateDir });
  return { process: resolve({ [name]: fields }, undefined, context).processes[0]!, stateDir };
}

async function start(process: ResolvedProcess, stateDir: string, options: Parameters<typeof launch>[3] = {}): Promise<Launched> {
  const result = await launch(process, specHash(process), stateDir, options);
  launched.push({ launched: result, process });
  return result;
}

interface Report {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  umask: string;
  nice: number;
  niceStat: number;
  pid: number;
  pgrp: number;
  session: number;
}

async function readReport(file: string): Promise<Report> {
  await waitFor(() => existsSync(file), 10_000, `${file}`);
  return JSON.parse(readFileSync(file, "utf8")) as Report;
}

function hostileEnvironment(): Record<string, string> {
  return Object.fromEntries(HOSTILE.map((value, index) => [`V${index}`, value]));
}

async function checkExact(fields: Record<string, unknown>, expect: { umask?: string; nice?: number; cwd?: string; pathDirs?: string[] }): Promise<Report> {
  const dir = makeTempDir();
  const reportFile = path.join(dir, "report.json");
  const declared = { REPORT: reportFile, ...hostileEnvironment(), ...((fields.environment as Record<string, string>) ?? {}) };
  const { process, stateDir } = model({ foregroundProcess: NODE, args: [REPORT, ...HOSTILE], ...fields, environment: declared });
  const result = await start(process, stateDir);
  const report = await readReport(reportFile);

  assert.equal(report.argv, HOSTILE, "argv byte for byte");
  const expectedPath = [...(expect.pathDirs ?? []), MINIMAL_PATH].join(":");
  assert.equal(report.env, { ...declared, PATH: expectedPath, [TAG_VARIABLE]: tagFor("svc", specHash(process), stateDir) }, "exactly the model's environment");
  assert.is(report.env.SECRET_TEST_VAR, undefined, "inherited from procman");
  assert.is(report.cwd, expect.cwd ?? "/");
  if (expect.umask !== undefined) assert.is(report.umask, expect.umask);
  assert.is(report.nice, expect.nice ?? 0);
  assert.is(report.niceStat, expect.nice ?? 0);
  assert.is(report.pid, result.pid, "the recorded PID is the process itself, not a wrapper");
  assert.is(report.session, report.pid, "its own session");
  assert.is(report.pgrp, report.pid, "its own process group");
  assert.is(result.pgid, report.pid);
  assert.is(result.startTime, readProcStat(result.pid)!.startTime);

  assert.is(readFileSync(process.pidFile, "utf8"), `${result.pid}\n`);
  assert.is(process.pidFile, path.join(stateDir, "run", "svc.pid"));
  assert.is(process.logFile, path.join(stateDir, "log", "svc.log"));
  await waitFor(() => /report: to stderr/.test(readFileSync(process.logFile, "utf8")), 5000, "stderr in the log");
  assert.match(readFileSync(process.logFile, "utf8"), "report: to stdout\n");
  return report;
}

test("foreground: exactly the model's environment, argv byte-exact, own session, log and PID file", async () => {
  process.env.SECRET_TEST_VAR = "must not leak";
  try {
    await checkExact({}, {});
  } finally {
    delete process.env.SECRET_TEST_VAR;
  }
});

test("foreground with directory, path, umask 027 and nice 5: all applied, environment still exact", async () => {
  process.env.SECRET_TEST_VAR = "must not leak";
  try {
    const dir = makeTempDir();
    const cwd = path.join(dir, "work dir ü");
    mkdirSync(cwd);
    const report = await checkExact(
      { directory: cwd, umask: "027", nice: 5, path: [path.join(dir, "bin one"), path.join(dir, "bin2")] },
      { cwd, umask: "0027", nice: 5, pathDirs: [path.join(dir, "bin one"), path.join(dir, "bin2")] },
    );
    assert.is(report.env.PWD, undefined, "no shell in between may add PWD");
  } finally {
    delete process.env.SECRET_TEST_VAR;
  }
});

test("a declared PWD, IFS and OPTIND are passed as declared, also with a umask", async () => {
  const report = await checkExact({ umask: "077", environment: { PWD: "/not/the cwd", IFS: ",", OPTIND: "5" } }, { umask: "0077" });
  assert.is(report.env.PWD, "/not/the cwd");
});

test("nice and umask work when the model's PATH has no system directories (the helpers are not looked up there)", async () => {
  const dir = makeTempDir();
  const reportFile = path.join(dir, "report.json");
  for (const umask of [undefined, "077"]) {
    const { process, stateDir } = model({
      foregroundProcess: NODE,
      args: [REPORT],
      environment: { REPORT: reportFile, PATH: "/nonexistent" },
      nice: 3,
      ...(umask !== undefined ? { umask } : {}),
    });
    const result = await start(process, stateDir);
    const report = await readReport(reportFile);
    assert.is(report.pid, result.pid);
    assert.is(report.nice, 3);
    assert.is(report.env.PATH, "/nonexistent");
    if (umask !== undefined) assert.is(report.umask, "0077");
    await terminate({ name: "svc", ...result, stopSignal: "SIGKILL", stopTimeout: 5 });
    rmSync(reportFile);
  }
});

test("a directory that does not exist: StartError naming the directory", async () => {
  const { process, stateDir } = model({ foregroundProcess: NODE, args: [REPORT], directory: "/nonexistent/work" });
  try {
    await start(process, stateDir);
    assert.unreachable("started");
  } catch (error) {
    assert.instance(error, StartError);
    assert.match((error as Error).message, "/nonexistent/work");
  }
});

test("a log is appended to, never truncated", async () => {
  const dir = makeTempDir();
  const { process, stateDir } = model({ foregroundProcess: NODE, args: [REPORT], environment: { REPORT: path.join(dir, "r.json") } });
  mkdirSync(path.dirname(process.logFile), { recursive: true });
  writeFileSync(process.logFile, "from before\n");
  const result = await start(process, stateDir);
  assert.is(result.logOffset, "from before\n".length);
  await waitFor(() => readFileSync(process.logFile, "utf8").includes("report: to stderr"), 5000, "the log");
  assert.ok(readFileSync(process.logFile, "utf8").startsWith("from before\n"));
});

test("an executable that does not exist: StartError naming it", async () => {
  const { process, stateDir } = model({ foregroundProcess: "/nonexistent/program" });
  try {
    await start(process, stateDir);
    assert.unreachable("started");
  } catch (error) {
    assert.instance(error, StartError);
    assert.is((error as Error).message, "cannot run /nonexistent/program: ENOENT");
  }
});

test("initialize runs first, with the process's environment and directory; a failing one prevents the start", async () => {
  const dir = makeTempDir();
  const reportFile = path.join(dir, "report.json");
  const made = path.join(dir, "made by initialize");
  const ok = model({ foregroundProcess: NODE, args: [REPORT], environment: { REPORT: reportFile, MADE: made }, initialize: 'echo "$MADE" > "$MADE"; pwd >> "$MADE"', directory: dir });
  await start(ok.process, ok.stateDir);
  assert.is(readFileSync(made, "utf8"), `${made}\n${dir}\n`);
  await readReport(reportFile);

  const failing = model({ foregroundProcess: NODE, args: [REPORT], environment: { REPORT: path.join(dir, "never.json") }, initialize: "echo broken; exit 7" });
  try {
    await start(failing.process, failing.stateDir);
    assert.unreachable("started despite the failed initialize");
  } catch (error) {
    assert.instance(error, StartError);
    assert.is((error as Error).message, "initialize failed (exit code 7)");
  }
  assert.not.ok(existsSync(path.join(dir, "never.json")));
  assert.match(readFileSync(failing.process.logFile, "utf8"), "broken");
});

// ---- daemons ----

function daemonModel(mode: string, readiness: Record<string, unknown> = {}) {
  const dir = makeTempDir();
  const stateDir = makeTempDir("procman-launch-");
  const pidFile = path.join(stateDir, "run", "svc.pid");
  const context = createContext({ stateDir, modelDir: stateDir });
  const events = path.join(dir, "events.jsonl");
  const process = resolve(
    { svc: { daemon: DAEMON, pidFile, environment: { DAEMON_MODE: mode, DAEMON_PID_FILE: pidFile, NODE, EVENTS: events, NAME: "svc" }, readiness } },
    undefined,
    context,
  ).processes[0]!;
  return { process, stateDir, pidFile, events };
}

test("daemon: recorded with the PID the daemon wrote, which is the daemonized service (own session)", async () => {
  const { process, stateDir, pidFile } = daemonModel("ok");
  const result = await start(process, stateDir);
  const written = Number(readFileSync(pidFile, "utf8"));
  assert.is(result.pid, written);
  assert.ok(alive(result.pid));
  // $! is the PID of a subshell that execs setsid, which execs node: the PID stays, the program changes.
  await waitFor(() => readFileSync(`/proc/${result.pid}/cmdline`, "latin1").includes(SERVICE), 5000, "the daemon's exec");
  await waitFor(() => readProcStat(result.pid)?.session === result.pid, 5000, "the daemon's setsid");
  assert.is(result.startTime, identityOf(result.pid)!.startTime);
  assert.match(readFileSync(process.logFile, "utf8"), `daemon: started ${written}`);
});

test("daemon: a failing daemon command is a StartError with its exit code", async () => {
  const { process, stateDir } = daemonModel("fail");
  try {
    await start(process, stateDir);
    assert.unreachable("started");
  } catch (error) {
    assert.instance(error, StartError);
    assert.is((error as Error).message, "the daemon command failed (exit code 3)");
  }
  assert.match(readFileSync(process.logFile, "utf8"), "daemon: refusing to start");
});

test("daemon: exit 0 without a PID file fails within its timeout; a stale PID file naming a live process is not adopted; nothing is left running", async () => {
  const { process, stateDir, pidFile } = daemonModel("nopid", { timeout: 1 });
  const sleeper = unrelatedProcess();
  try {
    mkdirSync(path.dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${sleeper.pid}\n`);
    const began = Date.now();
    try {
      await start(process, stateDir);
      assert.unreachable("a daemon without a PID file was taken as started");
    } catch (error) {
      assert.instance(error, StartError);
      assert.is((error as Error).message, `the daemon exited 0 but ${pidFile} did not name a live process within 1 s`);
    }
    const took = Date.now() - began;
    assert.ok(took >= 1000 && took < 5000, `failed after ${took} ms`);
    assert.ok(alive(sleeper.pid), "the unrelated process was touched");
    assert.equal(tagged(stateDir), [], "the daemon the failed start left behind still runs");
  } finally {
    sleeper.stop();
  }
});

// ---- the trust boundary ----

const LIAR = path.join(path.dirname(DAEMON), "liar-daemon.sh");

function liarModel(lie: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const stateDir = makeTempDir("procman-launch-");
  const pidFile = path.join(stateDir, "run", "svc.pid");
  const context = createContext({ stateDir, modelDir: stateDir });
  const process = resolve(
    { svc: { daemon: LIAR, pidFile, environment: { LIE: lie, DAEMON_PID_FILE: pidFile, NODE, NAME: "svc", ...env }, readiness: { timeout: 3 }, ...extra } },
    undefined,
    context,
  ).processes[0]!;
  return { process, stateDir, pidFile };
}

async function refused(process: ResolvedProcess, stateDir: string, options: Parameters<typeof launch>[3] = {}): Promise<string> {
  try {
    const result = await launch(process, specHash(process), stateDir, options);
    launched.push({ launched: result, process });
  } catch (error) {
    assert.instance(error, StartError);
    return (error as Error).message;
  }
  assert.unreachable("the lie was trusted");
  return "";
}

test("a daemon's PID file naming PID 1, procman, an ancestor of procman or an older unrelated process fails the start; nothing is signalled; nothing is left", async () => {
  const sleeper = unrelatedProcess();
  try {
    const lies: [string, string][] = [
      ["1", "is PID 1 (init)"],
      [String(process.pid), "is procman itself"],
      [String(process.ppid), "is an ancestor of procman"],
      [String(sleeper.pid), "started before procman launched the daemon"],
    ];
    for (const [pid, why] of lies) {
      const { process: spec, stateDir, pidFile } = liarModel(`pid:${pid}`);
      const message = await refused(spec, stateDir);
      assert.is(message, `${pidFile} names PID ${pid}, which ${why}; not trusted`);
      assert.equal(tagged(stateDir), [], `the daemon the lie came with still runs (${why})`);
    }
    assert.ok(alive(sleeper.pid), "the unrelated process was signalled");
  } finally {
    sleeper.stop();
  }
});

test("a daemon's PID file naming a PID or group recorded for another process, or the supervisor, fails the start", async () => {
  const victim = unrelatedProcess();
  try {
    for (const [options, why] of [
      [{ claimed: new Set([victim.pid]) }, "is recorded for another process"],
      [{ exclude: [victim.pid] }, "is procman's supervisor"],
    ] as const) {
      const { process: spec, stateDir, pidFile } = liarModel(`pid:${victim.pid}`);
      assert.is(await refused(spec, stateDir, options), `${pidFile} names PID ${victim.pid}, which ${why}; not trusted`);
      assert.equal(tagged(stateDir), []);
    }
    assert.ok(alive(victim.pid));
  } finally {
    victim.stop();
  }
});

test("a daemon's PID file that is a symlink (to another service's PID file) or a FIFO fails the start at once, without blocking", async () => {
  const elsewhere = makeTempDir();
  const otherPidFile = path.join(elsewhere, "other.pid");
  writeFileSync(otherPidFile, `${process.pid}\n`);
  const link = liarModel(`symlink:${otherPidFile}`);
  assert.is(await refused(link.process, link.stateDir), `PID file ${link.pidFile}: is a symbolic link; not followed`);
  assert.equal(tagged(link.stateDir), []);
  const fifo = liarModel("fifo");
  const began = Date.now();
  assert.is(await refused(fifo.process, fifo.stateDir), `PID file ${fifo.pidFile}: is not a regular file`);
  assert.ok(Date.now() - began < 2500, `took ${Date.now() - began} ms`);
  assert.equal(tagged(fifo.stateDir), []);
});

test("as root, a daemon of user nobody whose PID file names a root process started after it fails the start", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP PID file user check: needs root");
    return;
  }
  const shared = makeTempDir();
  chmodSync(shared, 0o777);
  const handoffFile = path.join(shared, "pid");
  const stateDir = makeTempDir("procman-launch-");
  chmodSync(stateDir, 0o755);
  const runDir = path.join(stateDir, "run");
  mkdirSync(runDir, { mode: 0o777 });
  chmodSync(runDir, 0o777);
  const pidFile = path.join(runDir, "svc.pid");
  const context = createContext({ stateDir, modelDir: stateDir });
  const spec = resolve(
    { svc: { daemon: LIAR, pidFile, user: "nobody", environment: { LIE: `handoff:${handoffFile}`, DAEMON_PID_FILE: pidFile, NODE, NAME: "svc" }, readiness: { timeout: 5 } } },
    undefined,
    context,
  ).processes[0]!;
  const pending = refused(spec, stateDir);
  const root = unrelatedProcess(); // younger than the launcher, runs as root
  try {
    writeFileSync(handoffFile, `${root.pid}\n`);
    assert.is(await pending, `${pidFile} names PID ${root.pid}, which runs as UID 0, not as its user (UID 65534); not trusted`);
    assert.ok(alive(root.pid));
    assert.equal(tagged(stateDir), []);
  } finally {
    root.stop();
  }
});

test("a verified daemon is recorded with its group and session; a worker outside them is swept with the tag", async () => {
  const workerFile = path.join(makeTempDir(), "worker");
  const { process: spec, stateDir } = liarModel("worker", {}, { DAEMON_WORKER_FILE: workerFile });
  const result = await start(spec, stateDir);
  await waitFor(() => readProcStat(result.pid)?.session === result.pid, 5000, "the daemon's setsid");
  const worker = Number(readFileSync(workerFile, "utf8"));
  assert.ok(alive(worker));
  const { sweepTagged } = await import("../../src/executor/tag-sweep.js");
  await terminate({ name: "svc", ...result, stopSignal: "SIGTERM", stopTimeout: 5 });
  assert.ok(alive(worker), "terminate alone reaches only the daemon's group");
  const swept = await sweepTagged(new Map([[tagFor("svc", specHash(spec), stateDir), { stopSignal: "SIGTERM", stopTimeout: 5 }]]));
  assert.equal(swept.map((entry) => entry.pid), [worker]);
  assert.not.ok(alive(worker));
});

test("a start that fails after the spawn (its PID file cannot be written) leaves nothing: what it forked into a session of its own goes too", async () => {
  const dir = makeTempDir();
  const pidFile = path.join(dir, "is-a-directory");
  mkdirSync(pidFile);
  const { process: spec, stateDir } = model({ foregroundProcess: "/bin/sh", args: ["-c", "setsid sleep 100000 & exec sleep 100000"], pidFile });
  const message = await refused(spec, stateDir);
  assert.match(message, `cannot write its PID file ${pidFile}`);
  assert.equal(tagged(stateDir), [], "what the failed start forked runs on untracked");
});

// A service owns its stateDirectory; a PID file or readiness file one level deeper lies in a
// directory it can swap for a link to one only root may write: procman, as root, must not remove
// or write there.
test("as root: a PID file or readiness file below a directory the service owns is refused; the link's target is untouched", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP service-owned directories: needs root to chown");
    return;
  }
  const base = makeTempDir("procman-svcdir-");
  const victim = path.join(base, "victim");
  mkdirSync(victim);
  for (const file of ["postmaster.pid", "ready"]) writeFileSync(path.join(victim, file), "precious\n");
  const own = path.join(base, "pg");
  mkdirSync(own);
  const { chownSync } = await import("node:fs");
  chownSync(own, 65534, 65534);
  symlinkSync(victim, path.join(own, "data")); // what the service did in the directory it owns
  const byPid = model({ foregroundProcess: "/bin/sleep", args: ["100000"], pidFile: path.join(own, "data", "postmaster.pid") });
  assert.match(await refused(byPid.process, byPid.stateDir), `${own}: it belongs to uid 65534`);
  const byReady = model({ foregroundProcess: "/bin/sleep", args: ["100000"], readiness: { file: path.join(own, "data", "ready"), timeout: 2 } });
  assert.match(await refused(byReady.process, byReady.stateDir), `not trusted above ${path.join(own, "data", "ready")}`);
  for (const file of ["postmaster.pid", "ready"]) assert.is(readFileSync(path.join(victim, file), "utf8"), "precious\n", `victim/${file}`);
  // Directly in the directory it owns: its own PID file, as before.
  const direct = model({ foregroundProcess: "/bin/sleep", args: ["100000"], pidFile: path.join(own, "direct.pid") });
  const started = await start(direct.process, direct.stateDir);
  await waitFor(() => existsSync(path.join(own, "direct.pid")) || undefined, 5000, "its PID file");
  assert.is(readFileSync(path.join(own, "direct.pid"), "utf8"), `${started.pid}\n`);
});

// The review's attack: runtimeDirectory nested in the service's own stateDirectory; the service
// swapped the directory between them for a link to a root-owned one, and root chowned that.
test("as root: an own directory below one the service owns is refused; the link's target keeps its owner and mode", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP nested own directories: needs root to chown");
    return;
  }
  const base = makeTempDir("procman-owndir-");
  const victim = path.join(base, "victim");
  mkdirSync(path.join(victim, "run"), { recursive: true, mode: 0o755 });
  chmodSync(path.join(victim, "run"), 0o755);
  const own = path.join(base, "app");
  mkdirSync(own);
  const { chownSync, statSync } = await import("node:fs");
  chownSync(own, 65534, 65534);
  symlinkSync(victim, path.join(own, "sub")); // what the service did in the directory it owns
  for (const target of [path.join(own, "sub", "run"), path.join(own, "sub", "new")]) {
    const nested = model({ foregroundProcess: "/bin/sleep", args: ["100000"], user: "nobody", runtimeDirectory: target });
    assert.match(await refused(nested.process, nested.stateDir), `runtimeDirectory ${target}: `);
  }
  const after = statSync(path.join(victim, "run"));
  assert.equal([after.uid, after.mode & 0o7777], [0, 0o755], "victim/run changed hands");
  assert.not.ok(existsSync(path.join(victim, "new")), "made below the link");
  // Directly below a directory of root's: made, and the service's.
  const direct = model({ foregroundProcess: "/bin/sleep", args: ["100000"], user: "nobody", runtimeDirectory: path.join(base, "direct") });
  await start(direct.process, direct.stateDir);
  assert.is(statSync(path.join(base, "direct")).uid, 65534);
});

// In a sticky directory anyone may write (/tmp), the service may rename the directory it owns and
// plant a link in its place: the next start must neither follow it nor refuse the directory itself.
test("as root: an own directory directly in a sticky world-writable directory starts again; a link in its place is refused, its target untouched", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP own directory in a sticky directory: needs root to chown");
    return;
  }
  const base = makeTempDir("procman-sticky-");
  const sticky = path.join(base, "tmp");
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const own = path.join(sticky, "own");
  const spec = model({ foregroundProcess: "/bin/sleep", args: ["100000"], user: "nobody", runtimeDirectory: own });
  const first = await start(spec.process, spec.stateDir);
  await terminate({ ...first, name: "svc", stopSignal: "SIGTERM", stopTimeout: 5 });
  await start(spec.process, spec.stateDir); // its own directory now is the service's: fine
  const { statSync } = await import("node:fs");
  const victim = path.join(base, "victim");
  mkdirSync(victim, { mode: 0o755 });
  chmodSync(victim, 0o755);
  renameSync(own, path.join(sticky, "moved"));
  symlinkSync(victim, own);
  assert.match(await refused(spec.process, spec.stateDir), "not a directory (a symbolic link is never followed)");
  assert.equal([statSync(victim).uid, statSync(victim).mode & 0o7777], [0, 0o755], "the link's target changed");
});

test("as root, user without group: the user's primary group and exactly its supplementary groups, never root's", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP user without group: needs root");
    return;
  }
  const { process: spec, stateDir } = model({
    foregroundProcess: "/bin/sh",
    args: ["-c", "grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo done; exec sleep 100000"],
    user: "nobody",
  });
  await start(spec, stateDir);
  await waitFor(() => readFileSync(spec.logFile, "utf8").includes("done"), 5000, "the ids in the log");
  const log = readFileSync(spec.logFile, "utf8");
  const expectedGroups = execFileSync("id", ["-G", "nobody"], { encoding: "utf8" }).trim().split(" ").filter((group) => group !== "65534");
  assert.match(log, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  assert.match(log, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
  const groups = /^Groups:\s*(.*)$/m.exec(log)![1]!.trim().split(/\s+/).filter((group) => group !== "" && group !== "65534");
  assert.equal(groups, expectedGroups, "exactly the user's supplementary groups");
});

test("as root, initialize runs as the process's user", async () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP initialize as the user: needs root");
    return;
  }
  const { process: spec, stateDir } = model({ foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 100000"], user: "nobody", initialize: 'echo "init as $(id -u):$(id -g)"' });
  await start(spec, stateDir);
  assert.match(readFileSync(spec.logFile, "utf8"), "init as 65534:65534");
});

test("a log that is a symlink, a FIFO, or another file than the recorded one is refused; the link's target is untouched", async () => {
  const victimDir = makeTempDir();
  const victim = path.join(victimDir, "passwd");
  writeFileSync(victim, "root:x:0:0\n");
  const linked = model({ foregroundProcess: "/bin/sh", args: ["-c", "echo appended; exec sleep 100000"] });
  mkdirSync(path.dirname(linked.process.logFile), { recursive: true });
  symlinkSync(victim, linked.process.logFile);
  assert.is(await refused(linked.process, linked.stateDir), `cannot open its log: ${linked.process.logFile}: is a symbolic link; the log is not opened through it`);
  assert.is(readFileSync(victim, "utf8"), "root:x:0:0\n");

  const fifo = model({ foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 100000"] });
  mkdirSync(path.dirname(fifo.process.logFile), { recursive: true });
  execFileSync("mkfifo", [fifo.process.logFile]);
  const began = Date.now();
  assert.match(await refused(fifo.process, fifo.stateDir), `cannot open its log: ${fifo.process.logFile}: is a FIFO`);
  assert.ok(Date.now() - began < 2000);

  const swapped = model({ foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 100000"] });
  const first = await start(swapped.process, swapped.stateDir);
  await terminate({ name: "svc", ...first, stopSignal: "SIGKILL", stopTimeout: 5 });
  // Moved aside, not removed: a freed inode number could be handed to the new file.
  renameSync(swapped.process.logFile, `${swapped.process.logFile}.aside`);
  writeFileSync(swapped.process.logFile, "another file\n");
  assert.match(await refused(swapped.process, swapped.stateDir, { knownLog: first.log }), "is another file than the log procman created");
  // The log it created is reopened for appending when it is the recorded one.
  const again = model({ foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 100000"] });
  const one = await start(again.process, again.stateDir);
  await terminate({ name: "svc", ...one, stopSignal: "SIGKILL", stopTimeout: 5 });
  const two = await start(again.process, again.stateDir, { knownLog: one.log });
  assert.equal(two.log, one.log);
});

test("readiness file: one left from an earlier run (or a symlink there) is removed before the start; a symlink's target is untouched", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "ready");
  const target = path.join(dir, "target");
  writeFileSync(target, "keep\n");
  symlinkSync(target, file);
  const { process: base, stateDir } = model({ foregroundProcess: "/bin/sh", args: ["-c", `sleep 0.3; echo > ${JSON.stringify(file)}; exec sleep 100000`] });
  const spec: ResolvedProcess = { ...base, readiness: { kind: "file", path: file, timeout: 10, interval: 0.05 } };
  const result = await start(spec, stateDir);
  assert.not.ok(existsSync(file), "the leftover counted");
  assert.is(readFileSync(target, "utf8"), "keep\n");
  const { waitUntilReady } = await import("../../src/executor/readiness.js");
  await waitUntilReady(spec, result, result.logOffset);
  assert.ok(existsSync(file));
});

test("readiness notify: ready on the line; once the reader is gone the process writes on without SIGPIPE", async () => {
  const dir = makeTempDir();
  const again = path.join(dir, "again");
  const alive2 = path.join(dir, "alive");
  const script = `sleep 0.2; echo > ${dir}/before; echo ready >&3; while [ ! -e ${again} ]; do sleep 0.02; done; i=0; while [ $i -lt 2000 ]; do echo more >&3 || exit 9; i=$((i+1)); done 2>/dev/null; echo ok > ${alive2}; exec sleep 100000`;
  const { process: base, stateDir } = model({ foregroundProcess: "/bin/sh", args: ["-c", script] });
  const spec: ResolvedProcess = { ...base, readiness: { kind: "notify", fd: 3, timeout: 10, interval: 0.1 } };
  const result = await start(spec, stateDir);
  assert.ok(result.notify !== undefined);
  const { waitUntilReady } = await import("../../src/executor/readiness.js");
  await waitUntilReady(spec, result, result.logOffset, undefined, { notify: result.notify!, exit: result.exit });
  assert.ok(existsSync(path.join(dir, "before")), "ready before the line");
  // The reader is closed now (the wait ended); the process writes on.
  writeFileSync(again, "");
  await waitFor(() => existsSync(alive2) || !alive(result.pid), 10_000, "the writes after the reader left");
  assert.ok(alive(result.pid), "the process died writing to its notification descriptor");
  assert.ok(existsSync(alive2));
  assert.equal(readdirSync(path.join(stateDir, "lib", "procman", "notify")), [], "no FIFO left behind");
});

test("logTail: only this run's part (from the offset), within a bound; never through a symlink (to /dev/zero) or a FIFO", () => {
  const dir = makeTempDir();
  const log = path.join(dir, "svc.log");
  writeFileSync(log, "earlier run 1\nearlier run 2\n");
  const offset = readFileSync(log).length;
  writeFileSync(log, "this run 1\nthis run 2\n", { flag: "a" });
  assert.is(logTail(log, offset), "this run 1\nthis run 2");
  assert.is(logTail(log, 0, 1), "this run 2");
  const big = path.join(dir, "big.log");
  writeFileSync(big, `${"x".repeat(100)}\n`.repeat(100_000) + "last line\n");
  assert.is(logTail(big, 0, 1), "last line");
  const zero = path.join(dir, "zero.log");
  symlinkSync("/dev/zero", zero);
  assert.is(logTail(zero), "");
  const fifo = path.join(dir, "fifo.log");
  execFileSync("mkfifo", [fifo]);
  assert.is(logTail(fifo), "");
});

test("claimedIds: PIDs and groups of other running records; a dead record's PID may be handed to the new daemon", async () => {
  const sleeper = unrelatedProcess();
  try {
    const identity = await waitFor(() => identityOf(sleeper.pid), 5000);
    const records = [
      { name: "other", ...identity, pgid: 4242 },
      { name: "dead", pid: 999_999, startTime: "1", pgid: 999_999 },
      { name: "svc", pid: 12345, startTime: "1" },
    ];
    assert.equal([...claimedIds(records, "svc")].sort(), [sleeper.pid, 4242].sort());
  } finally {
    sleeper.stop();
  }
});

test.run();
