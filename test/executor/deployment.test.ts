// switchDeployment and stopDeployment with real processes: readiness gates dependents, independent
// branches start in parallel, failures are undone, stops go dependents first, a second switch only
// touches what changed, and an interrupted switch is recovered.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SwitchFailedError, stopDeployment, switchDeployment } from "../../src/executor/deployment.js";
import type { SwitchEvent } from "../../src/executor/events.js";
import { TAG_VARIABLE, tagFor } from "../../src/executor/launch.js";
import { aliveLooks } from "../../src/executor/alive-wait.js";
import { identityOf } from "../../src/executor/proc.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { createContext } from "../../src/model/context.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { resolve } from "../helpers/model.js";
import {
  DAEMON,
  NODE,
  SERVICE,
  alive,
  freePort,
  indexOfEvent,
  instances,
  killLeftovers,
  readEvents,
  service,
  stateDir as newStateDir,
  tagged,
  waitFor,
} from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

function resolved(dir: string, processes: Record<string, unknown>): ResolvedModel {
  return resolve(processes, undefined, createContext({ stateDir: dir, modelDir: dir }));
}

async function deploy(dir: string, processes: Record<string, unknown>): Promise<SwitchEvent[]> {
  const events: SwitchEvent[] = [];
  await switchDeployment({ model: resolved(dir, processes), lockWait: 30, onEvent: (event) => events.push(event) });
  return events;
}

async function deployFails(dir: string, processes: Record<string, unknown>): Promise<{ error: SwitchFailedError; events: SwitchEvent[] }> {
  const events: SwitchEvent[] = [];
  try {
    await switchDeployment({ model: resolved(dir, processes), lockWait: 30, onEvent: (event) => events.push(event) });
  } catch (error) {
    assert.instance(error, SwitchFailedError);
    return { error: error as SwitchFailedError, events };
  }
  assert.unreachable("the switch succeeded");
  throw new Error("unreachable");
}

async function stop(dir: string): Promise<SwitchEvent[]> {
  const events: SwitchEvent[] = [];
  await stopDeployment(dir, 30, (event) => events.push(event));
  return events;
}

/** The PID of each recorded process. */
function pids(dir: string): Record<string, number> {
  return Object.fromEntries([...new StateDir(dir).readRecords().values()].map((record) => [record.name, record.pid]));
}

/** Runs a test body on a fresh state dir; afterwards stops everything and checks nothing is left. */
async function withStateDir(body: (dir: string, files: string) => Promise<void>): Promise<void> {
  const dir = newStateDir();
  const files = makeTempDir();
  let failed = false;
  try {
    await body(dir, files);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await stopDeployment(dir, 30, () => {}).catch(() => undefined);
    const left = killLeftovers(dir);
    if (!failed) assert.equal(left, [], "processes left after stop");
  }
}

const eventsFile = (files: string) => path.join(files, "events.jsonl");

// ---- readiness gates dependents ----

test("tcp, http, command, logLine and pidFile readiness each gate their dependent", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const [tcpPort, httpPort] = [await freePort(), await freePort()];
    const readyFile = path.join(files, "ready");
    const daemonPid = path.join(dir, "run", "dep-pidfile.pid");
    const slow = { READY_DELAY: "300" };
    const model: Record<string, unknown> = {
      "dep-tcp": service("dep-tcp", events, { ...slow, TCP_PORT: String(tcpPort) }, { readiness: { tcp: { port: tcpPort }, timeout: 10 } }),
      "dep-http": service("dep-http", events, { ...slow, HTTP_PORT: String(httpPort) }, { readiness: { http: { url: `http://127.0.0.1:${httpPort}/` }, timeout: 10 } }),
      "dep-command": service("dep-command", events, { ...slow, READY_FILE: readyFile }, { readiness: { command: 'test -e "$READY_FILE"', timeout: 10 } }),
      "dep-logLine": service("dep-logLine", events, { ...slow, LOG_LINE: "accepting connections" }, { readiness: { logLine: "^accepting connections$", timeout: 10 } }),
      // A daemon whose service writes the PID file itself, once ready.
      "dep-pidfile": {
        daemon: DAEMON,
        pidFile: daemonPid,
        environment: { NAME: "dep-pidfile", EVENTS: events, NODE, DAEMON_MODE: "nopid", PID_FILE: daemonPid, DAEMON_PID_FILE: daemonPid, ...slow },
        readiness: { pidFile: true, timeout: 10 },
      },
    };
    for (const kind of ["tcp", "http", "command", "logLine", "pidfile"]) {
      model[`user-${kind}`] = service(`user-${kind}`, events, {}, { activatesAfter: [`dep-${kind}`] });
    }
    await deploy(dir, model);
    // A dependent counts as started once alive 100 ms: its own "start" line may come a moment later.
    const log = await waitFor(() => {
      const seen = readEvents(events);
      return ["tcp", "http", "command", "logLine", "pidfile"].every((kind) => seen.some((event) => event.name === `user-${kind}` && event.event === "start")) ? seen : undefined;
    }, 10_000, "every dependent's start event");
    for (const kind of ["tcp", "http", "command", "logLine", "pidfile"]) {
      const ready = log.find((event) => event.name === `dep-${kind}` && event.event === "ready");
      const started = log.find((event) => event.name === `user-${kind}` && event.event === "start");
      assert.ok(ready !== undefined && started !== undefined, `${kind}: ${JSON.stringify(log)}`);
      assert.ok(indexOfEvent(log, `dep-${kind}`, "ready") < indexOfEvent(log, `user-${kind}`, "start"), `${kind}: the dependent started before its dependency was ready`);
      assert.ok(started.t >= ready.t, `${kind}: started at ${started.t}, dependency ready at ${ready.t}`);
    }
    assert.is(pids(dir)["dep-pidfile"], Number(readFileSync(daemonPid, "utf8")), "the daemon is recorded with the PID it wrote");
  });
});

test("independent branches start in parallel: the second starts before the first is ready", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const [p1, p2] = [await freePort(), await freePort()];
    await deploy(dir, {
      one: service("one", events, { READY_DELAY: "800", TCP_PORT: String(p1) }, { readiness: { tcp: { port: p1 }, timeout: 10 } }),
      two: service("two", events, { READY_DELAY: "800", TCP_PORT: String(p2) }, { readiness: { tcp: { port: p2 }, timeout: 10 } }),
      both: service("both", events, {}, { activatesAfter: ["one", "two"] }),
    });
    // "both" counts as ready once alive 100 ms after its spawn, which can be before Node has run its
    // first line (the start event): wait for the event, the order is what is asserted.
    await waitFor(() => indexOfEvent(readEvents(events), "both", "start") >= 0, 10_000, "both's start event");
    const log = readEvents(events);
    assert.ok(indexOfEvent(log, "two", "start") < indexOfEvent(log, "one", "ready"), JSON.stringify(log));
    assert.ok(indexOfEvent(log, "one", "start") < indexOfEvent(log, "two", "ready"), JSON.stringify(log));
    assert.ok(indexOfEvent(log, "both", "start") > Math.max(indexOfEvent(log, "one", "ready"), indexOfEvent(log, "two", "ready")));
  });
});

test("never ready within its timeout: the switch fails naming it, stops what it started, keeps the previous generation running", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const base = { keep: service("keep", events), changing: service("changing", events, { V: "1" }) };
    await deploy(dir, base);
    const before = pids(dir);
    const port = await freePort();
    const { error, events: switchEvents } = await deployFails(dir, {
      ...base,
      changing: service("changing", events, { V: "2" }),
      fresh: service("fresh", events),
      stuck: service("stuck", events, { NEVER_READY: "1" }, { readiness: { tcp: { port }, timeout: 1 }, activatesAfter: ["changing"] }),
      after: service("after", events, {}, { activatesAfter: ["stuck"] }),
    });
    assert.is(error.exitCode, 1);
    assert.is(error.message, `stuck: waiting for TCP 127.0.0.1:${port} to accept connections on a socket of its own: nothing listens there after 1 s`);
    const failed = switchEvents.find((event) => event.type === "failed");
    assert.ok(failed?.type === "failed" && failed.source === undefined && failed.name === "stuck" && failed.logTail.includes("stuck: I will never be ready"), JSON.stringify(failed));

    assert.is(indexOfEvent(readEvents(events), "after", "start"), -1, "a dependent of the failed process was started");
    const now = pids(dir);
    assert.equal(Object.keys(now).sort(), ["changing", "keep"], "the records are the previous generation's");
    assert.is(now.keep, before.keep, "an untouched process keeps its PID");
    assert.ok(alive(now.keep!));
    assert.ok(alive(now.changing!), "what the switch stopped was started again");
    assert.equal(readFileSync(`/proc/${now.changing}/environ`, "latin1").split("\0").filter((entry) => entry.startsWith("V=")), ["V=1"], "as the previous generation had it");
    assert.equal([...instances(dir).keys()].sort(), ["changing", "keep"], "what this switch started is stopped");
    assert.equal(new StateDir(dir).readCurrent(), { generation: 1, active: true });
    assert.equal(new StateDir(dir).listGenerations(), [1]);
  });
});

test("a dependency that exits at once fails the switch at once; its dependents never start", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const began = Date.now();
    const { error } = await deployFails(dir, {
      quitter: service("quitter", events, { EXIT_AT_ONCE: "4" }, { readiness: { tcp: { port: await freePort() }, timeout: 20 } }),
      dependent: service("dependent", events, {}, { activatesAfter: ["quitter"] }),
    });
    assert.ok(Date.now() - began < 10_000, "it waited for the timeout");
    assert.match(error.message, /^quitter: exited with code 4 (before it was ready|at once)/);
    assert.is(indexOfEvent(readEvents(events), "dependent", "start"), -1);
    assert.equal(tagged(dir), []);
    assert.is(new StateDir(dir).readCurrent(), undefined, "no generation was recorded");
  });
});

// The default check of a process nothing waits for gates nothing: one look at all such processes
// once the youngest is 20 ms old (last-look.ts), never a wait of its interval.
test("nothing waits for it: its default check is one last look, not its interval; one that exits at once still fails the switch", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const looks = aliveLooks();
    const switchEvents = await deploy(dir, { a: service("a", events), b: service("b", events) });
    assert.is(aliveLooks(), looks, "a process nothing waits for was waited for its interval");
    assert.equal(switchEvents.filter((event) => event.type === "ready").map((event) => (event as { name: string }).name).sort(), ["a", "b"]);
    // A dependency (a changed, so started again, with c waiting for it) still gets its interval:
    // the counter above can move.
    await deploy(dir, { a: service("a", events, { VERSION: "2" }), b: service("b", events), c: service("c", events, {}, { activatesAfter: ["a"] }) });
    assert.ok(aliveLooks() > looks, "the dependency was not waited for");
  });
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    // The last look comes once `late` (started after gate's readiness, 1.5 s on) is 20 ms old:
    // the quitter has surely exited by then, however slow the machine.
    const { error, events: switchEvents } = await deployFails(dir, {
      quitter: service("quitter", events, { EXIT_AT_ONCE: "3" }),
      gate: service("gate", events, { READY_FILE: path.join(files, "gate"), READY_DELAY: "1500" }, { readiness: { file: path.join(files, "gate") } }),
      late: service("late", events, {}, { activatesAfter: ["gate"] }),
    });
    assert.match(error.message, /^quitter: exited with code 3 within [0-9.]+ s of its start/);
    assert.ok(switchEvents.some((event) => event.type === "started" && event.name === "late"), "the switch did not go on to its last start");
    assert.ok(switchEvents.some((event) => event.type === "failed" && event.name === "quitter"));
    assert.equal(tagged(dir), [], "a, started, was not undone");
    assert.is(new StateDir(dir).readCurrent(), undefined, "no generation was recorded");
  });
});

test("one failure abandons the other starts at once: no waiting out their readiness timeouts", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const began = Date.now();
    const { error, events: switchEvents } = await deployFails(dir, {
      quitter: service("quitter", events, { EXIT_AT_ONCE: "4" }, { readiness: { tcp: { port: await freePort() }, timeout: 20 } }),
      slow: service("slow", events, { NEVER_READY: "1" }, { readiness: { tcp: { port: await freePort() }, timeout: 60 } }),
    });
    assert.match(error.message, /^quitter: /);
    assert.ok(Date.now() - began < 30_000, `the undo waited for slow's 60 s timeout (${Date.now() - began} ms)`);
    const failures = switchEvents.filter((event) => event.type === "failed").map((event) => (event.type === "failed" ? event.name : ""));
    assert.equal(failures, ["quitter"], "only the real failure is reported");
    assert.equal(tagged(dir), [], "slow, started by this switch, is stopped too");
  });
});

// ---- stopping ----

test("stop: dependents first (a <- b <- c: c, b, a), SIGKILL for one ignoring SIGTERM, group members gone, PID files removed", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const childPidFile = path.join(files, "child.pid");
    await deploy(dir, {
      a: service("a", events),
      b: service("b", events, { IGNORE_TERM: "1" }, { activatesAfter: ["a"], stop: { timeout: 0.5 } }),
      c: service("c", events, { CHILD_PID_FILE: childPidFile }, { activatesAfter: ["b"], stop: { timeout: 0.5 } }),
    });
    const running = pids(dir);
    // c counts as ready when alive 100 ms after its spawn, maybe before it wrote its child's PID.
    const child = Number(await waitFor(() => existsSync(childPidFile) && readFileSync(childPidFile, "utf8").trim(), 10_000, "c's child"));
    assert.ok(alive(child));
    for (const name of ["a", "b", "c"]) assert.ok(existsSync(path.join(dir, "run", `${name}.pid`)));
    // Each must have set up its SIGTERM handler (its start event) for its term event to be written.
    for (const name of ["a", "b"]) await waitFor(() => indexOfEvent(readEvents(events), name, "start") >= 0, 10_000, `${name}'s start event`);

    const stopEvents = await stop(dir);
    const terms = readEvents(events).filter((event) => event.event === "term").map((event) => event.name);
    assert.equal(terms, ["c", "b", "a"]);
    const stopped = stopEvents.filter((event) => event.type === "stopped");
    assert.equal(stopped.map((event) => event.type === "stopped" && [event.name, event.killed]), [["c", true], ["b", true], ["a", false]]);
    for (const pid of [...Object.values(running), child]) assert.not.ok(alive(pid), `PID ${pid} survived the stop`);
    for (const name of ["a", "b", "c"]) assert.not.ok(existsSync(path.join(dir, "run", `${name}.pid`)), `${name}.pid left`);
    assert.equal(tagged(dir), []);
    assert.equal(new StateDir(dir).readCurrent(), { generation: 1, active: false });
    assert.equal([...new StateDir(dir).readRecords().keys()], []);
  });
});

// ---- a second switch ----

test("a second switch of the same model keeps every PID", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const model = { a: service("a", events), b: service("b", events, {}, { activatesAfter: ["a"] }) };
    await deploy(dir, model);
    const first = pids(dir);
    // b counts as ready once alive, which can be before its Node has written its start event.
    const starts = () => readEvents(events).filter((event) => event.event === "start").length;
    await waitFor(() => starts() === 2, 10_000, "both start events");
    const second = await deploy(dir, model);
    assert.equal(pids(dir), first);
    assert.not.ok(second.some((event) => event.type === "starting" || event.type === "stopping"));
    assert.is(starts(), 2);
    assert.equal(new StateDir(dir).listGenerations(), [1]);
  });
});

test("a changed environment restarts that process and its transitive dependents only", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const started = (name: string) => ({ logLine: `^${name}: starting$`, timeout: 10 });
    const model = (version: string) => ({
      // Ready once they printed their start line, which they write after their start event: the
      // events then show the start order procman kept, whatever each Node's boot took.
      db: service("db", events, { VERSION: version }, { readiness: started("db") }),
      app: service("app", events, {}, { activatesAfter: ["db"], readiness: started("app") }),
      web: service("web", events, {}, { activatesAfter: ["app"], readiness: started("web") }),
      other: service("other", events),
      base: service("base", events),
      dbUser: service("dbUser", events, {}, { activatesAfter: ["base"] }),
    });
    await deploy(dir, { ...model("1"), db: { ...model("1").db, activatesAfter: ["base"] } });
    const first = pids(dir);
    // Ready means started here: each must have set up its SIGTERM handler (its start event) before
    // the next switch stops it, or its term event may never be written.
    for (const name of ["db", "app", "web"]) await waitFor(() => indexOfEvent(readEvents(events), name, "start") >= 0, 10_000, `${name}'s start event`);
    await deploy(dir, { ...model("2"), db: { ...model("2").db, activatesAfter: ["base"] } });
    const second = pids(dir);
    for (const name of ["db", "app", "web"]) assert.is.not(second[name], first[name], `${name} was not restarted`);
    for (const name of ["other", "base", "dbUser"]) assert.is(second[name], first[name], `${name} was restarted`);
    for (const name of ["db", "app", "web"]) assert.not.ok(alive(first[name]!));
    // The old ones stopped dependents first, the new ones started dependencies first.
    const log = readEvents(events).filter((event) => ["db", "app", "web"].includes(event.name));
    const after = log.slice(log.findIndex((event) => event.event === "term"));
    assert.equal(after.filter((event) => event.event === "term").map((event) => event.name), ["web", "app", "db"]);
    assert.equal(after.filter((event) => event.event === "start").map((event) => event.name), ["db", "app", "web"]);
    assert.ok(readFileSync(`/proc/${second.db}/environ`, "latin1").split("\0").includes("VERSION=2"));
  });
});

test("a removed process is stopped; the others keep their PIDs", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    await deploy(dir, { a: service("a", events), b: service("b", events, {}, { activatesAfter: ["a"] }) });
    const first = pids(dir);
    await deploy(dir, { a: service("a", events) });
    assert.equal(pids(dir), { a: first.a });
    assert.not.ok(alive(first.b!));
    assert.not.ok(existsSync(path.join(dir, "run", "b.pid")));
  });
});

test("a process killed externally (kill -9) is started again by the next switch; its group members are reaped", async () => {
  await withStateDir(async (dir, files) => {
    const events = eventsFile(files);
    const childPidFile = path.join(files, "child.pid");
    // restart "no": the kill below must leave a dead, for the next switch to find.
    const model = { a: service("a", events, { CHILD_PID_FILE: childPidFile }, { stop: { timeout: 0.5 }, restart: "no" }), b: service("b", events) };
    await deploy(dir, model);
    const first = pids(dir);
    const child = Number(await waitFor(() => existsSync(childPidFile) && readFileSync(childPidFile, "utf8").trim(), 10_000, "a's child"));
    process.kill(first.a!, "SIGKILL");
    await waitFor(() => !alive(first.a!), 5000, "the kill");
    const events2 = await deploy(dir, model);
    const second = pids(dir);
    assert.is.not(second.a, first.a);
    assert.ok(alive(second.a!));
    assert.is(second.b, first.b);
    assert.ok(events2.some((event) => event.type === "starting" && event.name === "a" && event.reason.kind === "died"));
    assert.not.ok(alive(child), "the dead process's group member still runs");
    assert.equal([...instances(dir).entries()].map(([name, list]) => [name, list.length]).sort(), [["a", 1], ["b", 1]]);
  });
});

// ---- recovery ----

test("an interrupted switch: a tagged process it never recorded is stopped, the declared one runs once (state dir with non-ASCII name)", async () => {
  const dir = makeTempDir("procman-ünï €-");
  const files = makeTempDir();
  let orphanPid: number | undefined;
  try {
    const events = eventsFile(files);
    const model = { svc: service("svc", events) };
    const process0 = resolved(dir, model).processes[0]!;
    // What a procman killed between the spawn and the record leaves: a journal and a tagged orphan.
    const state = new StateDir(dir);
    state.ensure();
    state.writeJournal({ pid: 999999, startTime: "1", startedAt: new Date().toISOString(), command: "switch" });
    const orphan = spawn(NODE, [SERVICE], {
      detached: true,
      stdio: "ignore",
      env: { ...process0.environment, [TAG_VARIABLE]: tagFor("svc", specHash(process0), dir) },
    });
    orphan.unref();
    orphanPid = orphan.pid;
    await waitFor(() => indexOfEvent(readEvents(events), "svc", "ready") >= 0, 10_000, "the orphan");
    const orphanIdentity = identityOf(orphan.pid!)!;
    const switchEvents = await deploy(dir, model);
    assert.ok(switchEvents.some((event) => event.type === "recovering" && event.message.includes(`PID ${orphan.pid}`)), JSON.stringify(switchEvents));
    assert.not.ok(alive(orphanIdentity.pid), "the orphan still runs");
    const running = instances(dir);
    assert.equal([...running.keys()], ["svc"]);
    assert.equal(running.get("svc"), [pids(dir).svc]);
    assert.is(state.readJournal(), undefined);
    assert.equal([...state.readRecords().keys()], ["svc"]);
  } finally {
    await stopDeployment(dir, 30, () => {}).catch(() => undefined);
    killLeftovers(dir);
    if (orphanPid !== undefined && alive(orphanPid)) process.kill(orphanPid, "SIGKILL");
  }
});

test.run();
