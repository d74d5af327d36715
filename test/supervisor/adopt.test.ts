// The supervisor holds nothing that is not on disk: kill -9 it and the processes run on; a new one
// adopts them without restarting any, and treats an adopted process's death as unknown (a failure).
// Ending it while a process crash-loops, or removing that process, resurrects nothing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, statSync } from "node:fs";
import { StateDir } from "../../src/executor/state-dir.js";
import { terminate } from "../../src/executor/terminate.js";
import { tagFor } from "../../src/executor/launch.js";
import { connectSupervisor, startSupervisor, supervisorStatus, type SupervisorClient } from "../../src/supervisor/client.js";
import { supervisorPaths } from "../../src/supervisor/paths.js";
import { alive, stateDir, tagged, waitFor } from "../helpers/processes.js";
import { deploy, eventsFile, processSpec, recordOf, starts, supervision, teardown, waitSupervision } from "./helpers.js";

test("kill -9 of the supervisor: processes run on, status says not running, a new one adopts without restarting", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const events = eventsFile(dir);
    const specs = ["a", "b"].map((name) => processSpec(dir, name, { EVENTS: events }));
    const records = await deploy(dir, specs, client);
    await waitFor(() => starts(events).length === 2, 5000, "both starts recorded");
    const socketMode = statSync(supervisorPaths(dir).socket).mode & 0o777;
    assert.is(socketMode, 0o600);
    // As every file of lib/procman (README, Directories): a review found these two 0644.
    await waitFor(() => existsSync(supervisorPaths(dir).status), 5000, "supervision.json");
    for (const file of [supervisorPaths(dir).pidFile, supervisorPaths(dir).status]) assert.is(statSync(file).mode & 0o777, 0o600, file);
    const first = client.pid;
    process.kill(first, "SIGKILL");
    await waitFor(() => !alive(first), 5000, "the supervisor dead");
    client.close();
    assert.equal(supervisorStatus(dir), { running: false, pid: null });
    assert.is(await connectSupervisor(dir), undefined);
    for (const record of records.values()) assert.ok(alive(record.pid), `${record.name} runs on`);

    client = await startSupervisor(dir);
    await client.resume();
    assert.equal(supervisorStatus(dir), { running: true, pid: client.pid });
    // pause() returns once nothing is in flight: any restart decided on adoption would be under way.
    await client.pause();
    await client.resume();
    for (const [name, record] of records) assert.is(recordOf(dir, name)?.pid, record.pid, `${name} kept its PID`);
    assert.is(starts(events).length, 2, "no process was started again");

    // An adopted process is not the new supervisor's child: its death is seen in /proc, reason unknown.
    process.kill(records.get("a")!.pid, "SIGKILL");
    const status = await waitSupervision(dir, "a", "restarted after an unknown exit", (s) => s.restarts === 1);
    assert.is(status.lastExit?.reason, "unknown");
    assert.ok(alive(records.get("b")!.pid), "b was not touched");
  } finally {
    await teardown(dir, client);
  }
});

test("a daemon: is never the supervisor's child; its death is seen in /proc and counts as unknown", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const { createContext } = await import("../../src/model/context.js");
    const { resolveModel } = await import("../../src/resolve-model.js");
    const { DAEMON, NODE } = await import("../helpers/processes.js");
    const pidFile = `${dir}/run/d.pid`;
    const events = eventsFile(dir);
    const model = resolveModel(
      { d: { daemon: DAEMON, pidFile, environment: { NAME: "d", EVENTS: events, NODE, DAEMON_PID_FILE: pidFile } } },
      createContext({ stateDir: dir, modelDir: dir }),
      { nameMustMatchKey: false },
    );
    const spec = { ...model.processes[0]!, restart: { policy: "on-failure" as const, delay: 0.05, maxDelay: 1, limit: { burst: 5, interval: 60 } } };
    const first = (await deploy(dir, [spec], client)).get("d")!;
    process.kill(first.pid, "SIGKILL");
    const status = await waitSupervision(dir, "d", "restarted", (s) => s.restarts === 1);
    assert.is(status.lastExit?.reason, "unknown");
    const second = await waitFor(() => {
      const record = recordOf(dir, "d");
      return record !== undefined && record.pid !== first.pid && alive(record.pid) ? record : undefined;
    }, 5000, "the new daemon recorded");
    assert.is(second.mode, "daemon");
  } finally {
    await teardown(dir, client);
  }
});

test("a new supervisor keeps what the old one decided: a clean exit and a failed process stay as they are", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const events = eventsFile(dir);
    await deploy(dir, [
      processSpec(dir, "clean", { EVENTS: events, EXIT_CODE: "0", EXIT_AFTER_MS: "300" }),
      processSpec(dir, "broken", { EVENTS: events, EXIT_CODE: "1", EXIT_AFTER_MS: "300" }, { restart: { policy: "no" } }),
    ], client);
    await waitSupervision(dir, "clean", "its clean exit", (s) => s.lastExit?.code === 0);
    await waitSupervision(dir, "broken", "failed", (s) => s.state === "failed");
    process.kill(client.pid, "SIGKILL");
    await waitFor(() => !supervisorStatus(dir).running, 5000, "the supervisor dead");
    client.close();
    client = await startSupervisor(dir);
    await client.resume();
    await client.pause();
    await client.resume();
    assert.is(starts(events, "clean").length, 1, "a clean exit is not made unknown by a new supervisor");
    assert.is(starts(events, "broken").length, 1);
    assert.is(supervision(dir, "clean")?.lastExit?.reason, "exit");
    assert.is(supervision(dir, "broken")?.state, "failed");
    // resume() looks at every record before it answers: a death taken for a new one would show here.
    assert.is(supervision(dir, "broken")?.lastExit?.code, 1);
  } finally {
    await teardown(dir, client);
  }
});

test("a second supervisor for the same state dir is refused", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    await client.resume();
    await startSupervisor(dir).then(
      () => assert.unreachable("a second supervisor started"),
      (error: Error) => assert.match(error.message, `a supervisor already runs for ${dir} (PID ${client!.pid})`),
    );
  } finally {
    await teardown(dir, client);
  }
  const paths = supervisorPaths(dir);
  assert.ok(!existsSync(paths.socket), "shutdown removed the socket");
  assert.ok(!existsSync(paths.pidFile), "shutdown removed the PID file");
});

test("a state dir too deep for sun_path: the socket is bound and reached relative to its directory", async () => {
  const dir = `${stateDir()}/${"d".repeat(60)}/${"e".repeat(60)}`;
  assert.ok(Buffer.byteLength(supervisorPaths(dir).socket) > 107);
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    await client.resume();
    const again = await connectSupervisor(dir);
    assert.is(again?.pid, client.pid);
    again?.close();
  } finally {
    await teardown(dir, client);
  }
});

/** A process that crashes at once, restarted without delay: the supervisor is always about to start it. */
function crashLoop(dir: string) {
  return processSpec(dir, "loop", { EVENTS: eventsFile(dir), EXIT_CODE: "1", EXIT_AFTER_MS: "150" }, {
    restart: { policy: "always", delay: 0, maxDelay: 0, limit: { burst: 1000, interval: 60 } },
  });
}

test("stop racing a crash-looping process: nothing is resurrected", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    await deploy(dir, [crashLoop(dir), processSpec(dir, "steady", {})], client);
    await waitSupervision(dir, "loop", "crash-looping", (s) => s.restarts >= 3);
    // What `procman stop` does: pause (waits out an in-flight restart), announce, stop, end it.
    await client.pause();
    const state = new StateDir(dir);
    await client.expectStop([...state.readRecords().keys()]);
    for (const record of state.readRecords().values()) {
      await terminate({ ...record, tag: tagFor(record.name, record.specHash, dir) });
      state.removeRecord(record.name);
    }
    state.setCurrent({ ...state.readCurrent()!, active: false });
    await client.shutdown();
    assert.is(supervisorStatus(dir).running, false);
    // The supervisor is gone, so nothing can start later: what runs now is all that will.
    assert.equal(tagged(dir), [], "no process of the state dir runs");
  } finally {
    await teardown(dir, undefined);
  }
});

test("a switch that removes a crash-looping process: it is not resurrected", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const steady = processSpec(dir, "steady", {});
    await deploy(dir, [crashLoop(dir), steady], client);
    await waitSupervision(dir, "loop", "crash-looping", (s) => s.restarts >= 3);
    await client.pause();
    const state = new StateDir(dir);
    await client.expectStop(["loop"]);
    const loop = state.readRecords().get("loop")!;
    await terminate({ ...loop, tag: tagFor(loop.name, loop.specHash, dir) });
    state.removeRecord("loop");
    const previous = state.readGeneration(state.readCurrent()!.generation);
    const generation = state.writeGeneration({ ...previous.model, processes: [steady] }, "direct", undefined);
    state.setCurrent({ generation, active: true });
    await client.resume();
    const startsBefore = starts(eventsFile(dir), "loop").length;
    // A full pause after the resume: whatever the supervisor would do, it has begun.
    await client.pause();
    await client.resume();
    assert.ok(!tagged(dir).some((entry) => entry.name === "loop"), "loop does not run");
    assert.is(starts(eventsFile(dir), "loop").length, startsBefore);
    assert.is(supervision(dir, "loop"), undefined, "an undeclared process has no supervision status");
  } finally {
    await teardown(dir, client);
  }
});

test.run();
