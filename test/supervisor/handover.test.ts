// The resume answer, through the client as the transaction uses it: the supervisor, paused, records
// the exit of a child that dies, acts on nothing, and at the resume (the hand-over) decides at once
// and answers with its decisions. A death is waited for until the PID is reaped (gone from /proc):
// the supervisor reaps it, so it has recorded the exit before it reads the resume request.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { waitFor } from "../helpers/processes.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { connectSupervisor } from "../../src/supervisor/client.js";
import { deploy, eventsFile, processSpec, starts, withSupervisor } from "./helpers.js";


const reaped = (pid: number) => waitFor(() => !existsSync(`/proc/${pid}`) || undefined, 5000, `PID ${pid} to be reaped`);

test("a child killed while paused: nothing happens until resume, whose answer is its backoff", () =>
  withSupervisor(async (dir, client) => {
    const events = eventsFile(dir);
    const records = await deploy(dir, [processSpec(dir, "victim", { EVENTS: events }, { restart: { delay: 5, maxDelay: 10 } }), processSpec(dir, "calm", {})], client);
    await waitFor(() => starts(events, "victim").length === 1 || undefined, 5000, "victim's start");
    await client.pause();
    const victim = records.get("victim")!.pid;
    process.kill(victim, "SIGKILL");
    await reaped(victim);
    const before = Date.now();
    const answer = await client.resume();
    assert.is(answer.length, 1, JSON.stringify(answer));
    const [backoff] = answer;
    assert.ok(backoff?.type === "backoff", JSON.stringify(answer));
    assert.equal([backoff.name, backoff.delayMs], ["victim", 5000]);
    const at = Date.parse(backoff.nextRestartAt);
    assert.ok(at >= before + 5000 - 1000 && at <= Date.now() + 5000, backoff.nextRestartAt);
    // Nothing more to report at the next hand-over: that death was dealt with.
    await client.pause();
    assert.equal(await client.resume(), []);
  }));

test("restart no: a crash while paused is answered as failed; an immediate restart as backoff 0 and restarting", () =>
  withSupervisor(async (dir, client) => {
    const records = await deploy(dir, [
      processSpec(dir, "once", {}, { restart: { policy: "no" } }),
      processSpec(dir, "quick", {}, { restart: { delay: 0 } }),
    ], client);
    await client.pause();
    for (const name of ["once", "quick"]) process.kill(records.get(name)!.pid, "SIGKILL");
    for (const name of ["once", "quick"]) await reaped(records.get(name)!.pid);
    const answer = await client.resume();
    const byName = (name: string) => answer.filter((event) => event.name === name);
    assert.equal(byName("once"), [{ type: "failed", name: "once", message: "killed by SIGKILL" }]);
    const quick = byName("quick");
    assert.equal(quick.map((event) => event.type), ["backoff", "restarting"], JSON.stringify(answer));
    assert.ok(quick[0]?.type === "backoff" && quick[0].delayMs === 0);
    assert.equal(quick[1], { type: "restarting", name: "quick", attempt: 1 });
  }));

// A review: a switch killed with kill -9 after it announced and made its stops left them dead
// for good (they stayed "expected" and "dealt with"), the supervisor running on and acting on nothing.
test("a lock holder killed after announcing a stop (its connection closes without a resume): the death is restarted as its policy says", () =>
  withSupervisor(async (dir, client) => {
    const events = eventsFile(dir);
    const records = await deploy(dir, [processSpec(dir, "victim", { EVENTS: events }, { restart: { policy: "always", delay: 0 } })], client);
    await waitFor(() => starts(events, "victim").length === 1 || undefined, 5000, "victim's start");
    const holder = (await connectSupervisor(dir))!;
    await holder.pause();
    await holder.expectStop(["victim"]);
    const victim = records.get("victim")!.pid;
    process.kill(victim, "SIGKILL");
    await reaped(victim);
    holder.close();
    await waitFor(() => starts(events, "victim").length === 2 || undefined, 10_000, "victim's restart once the holder is gone");
  }));

// A review: a full `procman stop` killed midway had its stops undone the same way.
test("a stop command killed after announcing its stops (its journal says stop): they stay down; other deaths are restarted", () =>
  withSupervisor(async (dir, client) => {
    const events = eventsFile(dir);
    const records = await deploy(dir, [
      processSpec(dir, "victim", { EVENTS: events }, { restart: { policy: "always", delay: 0 } }),
      processSpec(dir, "other", { EVENTS: events }, { restart: { policy: "always", delay: 0 } }),
    ], client);
    await waitFor(() => (starts(events, "victim").length === 1 && starts(events, "other").length === 1) || undefined, 5000, "the first starts");
    const holder = (await connectSupervisor(dir))!;
    await holder.pause();
    await holder.expectStop(["victim"]);
    const gone = spawnSync("true");
    new StateDir(dir).writeJournal({ pid: gone.pid!, startTime: "1", startedAt: new Date().toISOString(), command: "stop" });
    for (const name of ["victim", "other"]) process.kill(records.get(name)!.pid, "SIGKILL");
    for (const name of ["victim", "other"]) await reaped(records.get(name)!.pid);
    holder.close();
    // other's restart shows the pause is over, and the look that decided it looked at victim too.
    await waitFor(() => starts(events, "other").length === 2 || undefined, 10_000, "other's restart once the holder is gone");
    await client.pause();
    await client.resume();
    assert.is(starts(events, "victim").length, 1, "a stop command's stop was undone");
    new StateDir(dir).clearJournal();
  }));

test.run();
