// launch: what a started process gets (exactly the model's environment, argv byte for byte, cwd,
// umask, nice, its own session, log and PID file) and how daemons are adopted by their PID file.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StartError, TAG_VARIABLE, launch, tagFor, type Launched } from "../../src/executor/launch.js";
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

async function start(process: ResolvedProcess, stateDir: string): Promise<Launched> {
  const result = await launch(process, specHash(process), stateDir);
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

test.run();
