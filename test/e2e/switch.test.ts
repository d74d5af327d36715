// The direct process manager through the CLI (`node dist/src/cli/bin.js`): what a process gets,
// daemons, readiness failures and their undo, stale records and reused PIDs, and the commands
// around switch (--dry-run, --json, status, generations, rollback, logs). Build first: `npx tsc -p .`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { identityOf } from "../../src/executor/proc.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { MINIMAL_PATH } from "../../src/model/normalize.js";
import { BIN, procman, runCaptured, show, type CliRun } from "../helpers/cli.js";
import {
  DAEMON,
  NODE,
  REPORT,
  alive,
  environmentOf,
  freePort,
  indexOfEvent,
  instances,
  killLeftovers,
  readEvents,
  service,
  stateDir as newStateDir,
  tagged,
  unrelatedProcess,
  waitFor,
  writeJson,
} from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { scenario } from "../helpers/scenario.js";

const run = (args: string[], env: Record<string, string> = {}) => procman(args, { timeoutMs: 30_000, env });

interface Status {
  generation: number | null;
  processManager: string;
  active: boolean;
  processes: { name: string; state: string; pid: number | null; mode: string | null; pidFile: string | null; logFile: string | null; startedAt: string | null }[];
}

/** status --json; its exit code says whether everything declared runs (0) or not (1). */
async function status(dir: string): Promise<Status> {
  const result = await run(["status", "--json", "--state-dir", dir]);
  const parsed = JSON.parse(result.stdout) as Status;
  const allRunning = parsed.active ? parsed.processes.every((entry) => entry.state === "running") : parsed.processes.every((entry) => entry.state === "stopped" || entry.state === "dead");
  assert.is(result.code, allRunning ? 0 : 1, show(result));
  return parsed;
}

const pidsOf = (value: Status) => Object.fromEntries(value.processes.map((process) => [process.name, process.pid]));
const statesOf = (value: Status) => Object.fromEntries(value.processes.map((process) => [process.name, process.state]));

function ok(result: CliRun): CliRun {
  assert.is(result.code, 0, show(result));
  return result;
}

// ---- 1. what a foreground process gets ----

test("foreground: exactly the model's environment (nothing from procman's), byte-exact argv and values, cwd, umask, nice, log, PID file, own session", async () => {
  await scenario(async (dir, files) => {
    const hostile = ["with space", "it's", 'say "hi"', "$HOME", "100%", "a;b", "back\\slash", "tab\there", "new\nline", "", "ünï €"];
    const reportFile = path.join(files, "report.json");
    const cwd = path.join(files);
    const environment = { REPORT: reportFile, ...Object.fromEntries(hostile.map((value, index) => [`V${index}`, value])) };
    const model = writeJson(path.join(files, "model.json"), {
      reporter: { foregroundProcess: NODE, args: [REPORT, ...hostile], environment, path: ["/opt/one", "/opt/two"], directory: cwd, umask: "027", nice: 5 },
    });
    ok(await run(["switch", model, "--state-dir", dir], { SECRET_TEST_VAR: "must not leak", PROCMAN_TAG: "inherited?" }));
    await waitFor(() => existsSync(reportFile), 10_000, "the report");
    const report = JSON.parse(readFileSync(reportFile, "utf8"));
    const [state] = (await status(dir)).processes;
    assert.equal(report.argv, hostile);
    assert.equal(report.env, {
      ...environment,
      PATH: `/opt/one:/opt/two:${MINIMAL_PATH}`,
      PROCMAN_TAG: report.env.PROCMAN_TAG,
    });
    assert.match(report.env.PROCMAN_TAG, new RegExp(`^reporter:[0-9a-f]{32}:${dir}$`));
    assert.is(report.env.SECRET_TEST_VAR, undefined);
    assert.is(report.cwd, cwd);
    assert.is(report.umask, "0027");
    assert.is(report.nice, 5);
    assert.is(report.pid, state!.pid);
    assert.is(report.session, report.pid);
    assert.is(readFileSync(path.join(dir, "run", "reporter.pid"), "utf8").trim(), String(report.pid));
    await waitFor(() => readFileSync(path.join(dir, "log", "reporter.log"), "utf8").includes("report: to stderr"), 5000, "the log");
    assert.match(readFileSync(path.join(dir, "log", "reporter.log"), "utf8"), "report: to stdout");
  });
});

// ---- 2. daemons ----

function daemonModel(files: string, dir: string, mode: string, extra: Record<string, unknown> = {}): string {
  const pidFile = path.join(dir, "run", "daemon.pid");
  return writeJson(path.join(files, `daemon-${mode}.json`), {
    daemon: { daemon: DAEMON, pidFile, environment: { DAEMON_MODE: mode, DAEMON_PID_FILE: pidFile, NODE, NAME: "daemon" }, readiness: { timeout: 1 }, ...extra },
  });
}

test("daemon: recorded with the daemon's PID (the one its PID file names), which runs in its own session", async () => {
  await scenario(async (dir, files) => {
    ok(await run(["switch", daemonModel(files, dir, "ok"), "--state-dir", dir]));
    const pid = Number(readFileSync(path.join(dir, "run", "daemon.pid"), "utf8"));
    const [daemon] = (await status(dir)).processes;
    assert.equal([daemon!.name, daemon!.state, daemon!.pid, daemon!.mode], ["daemon", "running", pid, "daemon"]);
    assert.ok(alive(pid));
    assert.equal(instances(dir).get("daemon"), [pid]);
  });
});

test("daemon: a daemon command exiting non-zero fails the switch (exit 1), with its log", async () => {
  await scenario(async (dir, files) => {
    const result = await run(["switch", daemonModel(files, dir, "fail"), "--state-dir", dir]);
    assert.is(result.code, 1, show(result));
    assert.match(result.stderr, "procman: daemon: the daemon command failed (exit code 3)");
    assert.match(result.stderr, "daemon: refusing to start");
    assert.equal(tagged(dir), []);
  });
});

test("daemon: exit 0 without writing its PID file fails within its timeout (exit 1), leaves nothing, adopts no stale PID", async () => {
  await scenario(async (dir, files) => {
    const sleeper = unrelatedProcess();
    try {
      const model = daemonModel(files, dir, "nopid");
      // A stale PID file naming a live, unrelated process.
      const pidFile = path.join(dir, "run", "daemon.pid");
      mkdirSync(path.dirname(pidFile), { recursive: true });
      writeFileSync(pidFile, `${sleeper.pid}\n`);
      const began = Date.now();
      const result = await run(["switch", model, "--state-dir", dir]);
      const took = Date.now() - began;
      assert.is(result.code, 1, show(result));
      assert.match(result.stderr, `procman: daemon: the daemon exited 0 but ${pidFile} did not name a live process within 1 s`);
      assert.ok(took < 8000, `took ${took} ms`);
      assert.ok(alive(sleeper.pid), "an unrelated process was signalled");
      assert.equal(tagged(dir), [], "the daemon's child was left running");
    } finally {
      sleeper.stop();
    }
  });
});

// ---- 3. readiness failure through the CLI ----

test("never ready: exit 1 naming it with the end of its log; what it started is stopped; the previous generation runs on, same PIDs", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const base = { a: service("a", events), b: service("b", events, {}, { activatesAfter: ["a"] }) };
    ok(await run(["switch", writeJson(path.join(files, "one.json"), base), "--state-dir", dir]));
    const before = await status(dir);
    const port = await freePort();
    const result = await run(["switch", writeJson(path.join(files, "two.json"), {
      ...base,
      fresh: service("fresh", events),
      stuck: service("stuck", events, { NEVER_READY: "1" }, { readiness: { tcp: { port }, timeout: 1 }, activatesAfter: ["fresh"] }),
      late: service("late", events, {}, { activatesAfter: ["stuck"] }),
    }), "--state-dir", dir]);
    assert.is(result.code, 1, show(result));
    assert.match(result.stderr, `procman: stuck: waiting for TCP 127.0.0.1:${port} to accept connections on a socket of its own: nothing listens there after 1 s`);
    assert.match(result.stderr, /--- end of stuck.s log ---\n(.*\n)*stuck: I will never be ready\n/);
    assert.is(indexOfEvent(readEvents(events), "late", "start"), -1);
    const after = await status(dir);
    assert.is(after.generation, 1);
    assert.equal(pidsOf(after), pidsOf(before));
    assert.equal(statesOf(after), { a: "running", b: "running" });
    assert.equal([...instances(dir).keys()].sort(), ["a", "b"], "fresh and stuck must be stopped");
  });
});

// ---- 5. reused PIDs and stale records ----

test("a record whose PID now names an unrelated process: status says pid-reused; switch and stop never signal it; switch starts the process fresh", async () => {
  await scenario(async (dir, files) => {
    const sleeper = unrelatedProcess();
    try {
      const events = path.join(files, "events.jsonl");
      // restart "no": the test plays the kill and the PID reuse itself, with no supervisor in between.
      const model = writeJson(path.join(files, "model.json"), { svc: service("svc", events, {}, { restart: "no" }) });
      ok(await run(["switch", model, "--state-dir", dir]));
      const records = () => new StateDir(dir).readRecords();
      const pidFile = path.join(dir, "run", "svc.pid");
      const original = records().get("svc")!;
      process.kill(original.pid, "SIGKILL");
      await waitFor(() => !alive(original.pid), 5000, "the kill");
      const sleeperIdentity = await waitFor(() => identityOf(sleeper.pid), 5000);
      const lie = () => {
        new StateDir(dir).writeRecord({ ...original, pid: sleeper.pid, startTime: String(Number(sleeperIdentity.startTime) + 7) });
        writeFileSync(pidFile, `${sleeper.pid}\n`); // and a stale PID file
      };
      lie();

      const reported = await status(dir);
      assert.equal([reported.processes[0]!.state, reported.processes[0]!.pid], ["pid-reused", sleeper.pid]);
      const text = await run(["status", "--state-dir", dir]);
      assert.is(text.code, 1, show(text));
      assert.match(text.stdout, new RegExp(`^  svc +pid-reused +${sleeper.pid} +0 +- +-$`, "m"));
      assert.match(text.stderr, "not running as declared: svc (pid-reused)");

      const switched = ok(await run(["switch", model, "--state-dir", dir]));
      assert.match(switched.stdout, "forgot svc: its PID now belongs to another process (left alone)");
      assert.ok(alive(sleeper.pid), "switch signalled an unrelated process");
      assert.is(identityOf(sleeper.pid)?.startTime, sleeperIdentity.startTime);
      const fresh = (await status(dir)).processes[0]!;
      assert.is(fresh.state, "running");
      assert.is.not(fresh.pid, sleeper.pid);
      assert.is(readFileSync(pidFile, "utf8").trim(), String(fresh.pid));
      assert.equal(instances(dir).get("svc"), [fresh.pid]);

      // Stop with a lying record: the fresh one has to be stopped by the test, the unrelated one never.
      ok(await run(["stop", "--state-dir", dir]));
      lie();
      ok(await run(["stop", "--state-dir", dir]));
      assert.ok(alive(sleeper.pid), "stop signalled an unrelated process");
      assert.not.ok(records().has("svc"), "the stale record is forgotten");
    } finally {
      sleeper.stop();
    }
  });
});

// ---- 6. switch semantics and the commands around it ----

test("switch, --dry-run, --json, status, kill -9 and restart, generations, rollback, logs", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const modelV = (version: string, withExtra = true) => ({
      db: service("db", events, { VERSION: version }),
      // Killed below to see it dead: nothing may restart it before the next switch.
      app: service("app", events, {}, { activatesAfter: ["db"], restart: "no" }),
      other: service("other", events),
      ...(withExtra ? { chatty: { foregroundProcess: "/bin/sh", args: ["-c", "echo one; echo two; echo three; echo four; exec sleep 100000"], readiness: { logLine: "^four$", timeout: 10 } } } : {}),
    });
    const one = writeJson(path.join(files, "one.json"), modelV("1"));
    const two = writeJson(path.join(files, "two.json"), modelV("2", false));

    ok(await run(["switch", one, "--state-dir", dir]));
    const first = await status(dir);
    assert.is(first.generation, 1);
    assert.is(first.processManager, "direct");
    assert.equal(statesOf(first), { db: "running", app: "running", other: "running", chatty: "running" });
    for (const process of first.processes) {
      assert.ok(alive(process.pid!));
      assert.is(typeof process.startedAt, "string");
    }

    // The same model again: nothing restarts.
    const again = ok(await run(["switch", one, "--state-dir", dir]));
    assert.match(again.stdout, "plan: stop 0, start 0, keep 4");
    assert.equal(pidsOf(await status(dir)), pidsOf(first));

    // --dry-run: the plan with its reasons, and nothing changes.
    const dry = ok(await run(["switch", two, "--dry-run", "--state-dir", dir]));
    assert.is(
      dry.stdout,
      [
        "stop (dependents first):",
        "  app: restarted with what it activatesAfter (db changed)",
        "  chatty: removed from the model",
        "  db: changed: environment",
        "start (dependencies first):",
        "  db: changed: environment",
        "  app: restarted with what it activatesAfter (db changed)",
        "keep:",
        "  other: unchanged and running",
        "",
      ].join("\n"),
    );
    assert.equal(pidsOf(await status(dir)), pidsOf(first));
    assert.equal(JSON.parse(ok(await run(["generations", "--json", "--state-dir", dir])).stdout).length, 1, "a switch that changes nothing records no generation");

    // --json: one event per line.
    const json = ok(await run(["switch", two, "--json", "--state-dir", dir]));
    const lines = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { type: string; name?: string });
    assert.is(lines[0]!.type, "plan");
    assert.is(lines.at(-1)!.type, "done");
    const stoppedNames = lines.filter((event) => event.type === "stopped").map((event) => event.name);
    assert.equal([...stoppedNames].sort(), ["app", "chatty", "db"]);
    assert.ok(stoppedNames.indexOf("app") < stoppedNames.indexOf("db"), "a dependent stops before its dependency");
    assert.equal(lines.filter((event) => event.type === "ready").map((event) => event.name), ["db", "app"]);
    const second = await status(dir);
    assert.is(second.generation, 2);
    assert.is(pidsOf(second).other, pidsOf(first).other);
    assert.is.not(pidsOf(second).db, pidsOf(first).db);
    assert.is.not(pidsOf(second).app, pidsOf(first).app);
    assert.not.ok(alive(pidsOf(first).chatty!), "a removed process still runs");
    assert.is(environmentOf(pidsOf(second).db!)?.VERSION, "2");

    // generations: the list with the current one.
    const listing = ok(await run(["generations", "--state-dir", dir])).stdout.trimEnd().split("\n");
    // Each generation after the first says on the next line what it changed.
    assert.equal(listing.filter((line) => !/^ *[0-9]/.test(line)), ["        removed chatty; changed db (environment)"]);
    const generations = listing.filter((line) => /^ *[0-9]/.test(line));
    assert.is(generations.length, 2, generations.join("\n"));
    assert.match(generations[1]!, /^ {3}2 {2}\S+ {2}3 processes {2}.*two\.json {2}\(current\)$/);
    assert.match(generations[0]!, /^ {3}1 {2}\S+ {2}4 processes {2}.*one\.json$/);
    assert.not.match(generations.slice(0, 1).join("\n"), "current");

    // rollback: back to the previous model, as a new generation; unchanged processes keep their PIDs.
    const back = ok(await run(["rollback", "--state-dir", dir]));
    assert.match(back.stdout, "rolling back to generation 1 (from 2)");
    const list = JSON.parse(ok(await run(["generations", "--json", "--state-dir", dir])).stdout) as { generation: number; current: boolean; processes: string[] }[];
    assert.equal(list.map((entry) => [entry.generation, entry.current]), [[1, false], [2, false], [3, true]]);
    assert.equal(list[2]!.processes, ["db", "app", "other", "chatty"]);
    const rolled = await status(dir);
    assert.is(rolled.generation, 3);
    assert.equal(statesOf(rolled), { db: "running", app: "running", other: "running", chatty: "running" });
    assert.is(environmentOf(pidsOf(rolled).db!)?.VERSION, "1");
    assert.is(pidsOf(rolled).other, pidsOf(first).other, "an unchanged process survives every switch");

    // kill -9 from outside: status says dead, the next switch starts it again (and only it).
    process.kill(pidsOf(rolled).app!, "SIGKILL");
    await waitFor(() => !alive(pidsOf(rolled).app!), 5000, "the kill");
    // restart "no": the supervisor leaves it, as failed.
    await waitFor(async () => statesOf(await status(dir)).app === "failed", 5000, "app to be failed");
    assert.equal(statesOf(await status(dir)), { db: "running", app: "failed", other: "running", chatty: "running" });
    ok(await run(["switch", one, "--state-dir", dir]));
    const restarted = await status(dir);
    assert.equal(statesOf(restarted), { db: "running", app: "running", other: "running", chatty: "running" });
    assert.is.not(pidsOf(restarted).app, pidsOf(rolled).app);
    for (const name of ["db", "other", "chatty"]) assert.is(pidsOf(restarted)[name], pidsOf(rolled)[name], name);

    // logs -n 2: the last two lines.
    const logs = ok(await run(["logs", "chatty", "-n", "2", "--state-dir", dir]));
    assert.is(logs.stdout, "three\nfour\n");
    const unknown = await run(["logs", "nope", "--state-dir", dir]);
    assert.is(unknown.code, 2, show(unknown));
    assert.match(unknown.stderr, 'no process "nope" in the deployed generation');

    // stop: everything gone, the generation kept and marked stopped.
    ok(await run(["stop", "--state-dir", dir]));
    assert.equal(tagged(dir), []);
    const stopped = await status(dir);
    assert.equal([stopped.generation, stopped.active], [3, false]);
    assert.equal(statesOf(stopped), { db: "stopped", app: "stopped", other: "stopped", chatty: "stopped" });
  });
});

test("rollback walks back one generation at a time (a rollback generation counts as the one it restored); at the first it exits 2", async () => {
  await scenario(async (dir, files) => {
    const models = [1, 2, 3].map((version) =>
      writeJson(path.join(files, `v${version}.json`), { only: { process: "/bin/sleep", args: [String(1000 + version)] } }),
    );
    for (const model of models) ok(await run(["switch", model, "--state-dir", dir]));
    const argOf = async () => readFileSync(`/proc/${pidsOf(await status(dir)).only}/cmdline`, "latin1").split("\0")[1];
    assert.match(ok(await run(["rollback", "--state-dir", dir])).stdout, "rolling back to generation 2 (from 3)");
    assert.is(await argOf(), "1002");
    assert.match(ok(await run(["rollback", "--state-dir", dir])).stdout, "rolling back to generation 1 (from 4)");
    assert.is(await argOf(), "1001");
    const first = await run(["rollback", "--state-dir", dir]);
    assert.is(first.code, 2, show(first));
    assert.match(first.stderr, "nothing to roll back to");
    assert.is(await argOf(), "1001", "a refused rollback changes nothing");
  });
});

// A tag is an environment variable: a deploy script run inside a managed service's environment
// carries one of this state dir's tags. The stop's sweep must not take procman's caller (nor,
// through the caller's process group, procman itself) for a leftover.
test("stop run by a shell that carries a tag of this state dir: the shell and procman are not swept", async () => {
  await scenario(async (dir, files) => {
    const model = writeJson(path.join(files, "model.json"), { a: { foregroundProcess: "/bin/sleep", args: ["100000"], restart: "no" } });
    ok(await run(["switch", model, "--state-dir", dir]));
    const [state] = (await status(dir)).processes;
    const script = `"$0" "$1" stop --state-dir "$2"; echo "exit=$?"; echo "the caller lives on"`;
    const result = await runCaptured("/usr/bin/setsid", ["/bin/sh", "-c", script, process.execPath, BIN, dir], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", PROCMAN_TAG: `a:x:${dir}` } }, 30_000, "a tagged caller's stop");
    assert.match(result.stdout, "exit=0", show(result));
    assert.match(result.stdout, "the caller lives on", show(result));
    assert.not.ok(alive(state!.pid!), "the process itself was stopped");
  });
});

test.run();
