// terminate: signal only a verified identity, wait until the process and its group are gone,
// escalate to SIGKILL after the stop timeout, tidy the PID file.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mayKillGroup } from "../../src/executor/pid-trust.js";
import { checkIdentity, identityOf, readProcStat, type ProcessIdentity } from "../../src/executor/proc.js";
import { sweepTagged } from "../../src/executor/tag-sweep.js";
import { terminate, type StopTarget } from "../../src/executor/terminate.js";
import { NODE, SERVICE, alive, killedAfterEach, readEvents, unrelatedProcess, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const spawned = killedAfterEach(test);

/** service.mjs in its own session and group, as procman starts foreground processes; resolves once it is ready. */
async function startService(env: Record<string, string>): Promise<{ identity: ProcessIdentity; events: string; dir: string }> {
  const dir = makeTempDir();
  const events = path.join(dir, "events.jsonl");
  const ready = path.join(dir, "ready");
  const child = spawn(NODE, [SERVICE], { detached: true, stdio: "ignore", env: { EVENTS: events, READY_FILE: ready, ...env } });
  spawned.push(child);
  await waitFor(() => existsSync(ready), 10_000, "the service to be ready");
  return { identity: identityOf(child.pid!)!, events, dir };
}

const target = (identity: ProcessIdentity, fields: Partial<StopTarget> = {}): StopTarget => ({
  name: "svc",
  ...identity,
  stopSignal: "SIGTERM",
  stopTimeout: 5,
  ...fields,
});

test("SIGTERM: the process records it, exits, and terminate returns only once it is gone", async () => {
  const { identity, events } = await startService({});
  const outcome = await terminate(target(identity));
  assert.is(outcome, "stopped");
  assert.not.ok(alive(identity.pid), "gone when terminate returns");
  assert.equal(readEvents(events).map((event) => event.event), ["start", "ready", "term"]);
});

test("the stop signal of the model is the one sent", async () => {
  const dir = makeTempDir();
  const out = path.join(dir, "signal");
  const child = spawn("/bin/sh", ["-c", `trap 'echo INT > ${out}; exit 0' INT; trap 'echo TERM > ${out}; exit 0' TERM; echo up > ${out}.up; while :; do sleep 0.05; done`], {
    detached: true,
    stdio: "ignore",
  });
  spawned.push(child);
  await waitFor(() => existsSync(`${out}.up`), 5000, "the shell");
  const identity = identityOf(child.pid!)!;
  assert.is(await terminate(target(identity, { stopSignal: "SIGINT" })), "stopped");
  assert.is(readFileSync(out, "utf8"), "INT\n");
});

test("a process that ignores SIGTERM is SIGKILLed after stop.timeout, not before", async () => {
  const { identity, events } = await startService({ IGNORE_TERM: "1" });
  const began = Date.now();
  const outcome = await terminate(target(identity, { stopTimeout: 0.6 }));
  const took = Date.now() - began;
  assert.is(outcome, "killed");
  assert.ok(took >= 600, `SIGKILL came after ${took} ms, before the 600 ms timeout`);
  assert.ok(took < 5000, `took ${took} ms`);
  assert.not.ok(alive(identity.pid));
  assert.equal(readEvents(events).map((event) => event.event), ["start", "ready", "term"], "it did get SIGTERM first");
});

test("a child left in the process group (ignoring SIGTERM) is gone too after stop", async () => {
  const dir = makeTempDir();
  const childPidFile = path.join(dir, "child.pid");
  const { identity } = await startService({ CHILD_PID_FILE: childPidFile });
  const child = Number(readFileSync(childPidFile, "utf8"));
  await waitFor(() => readFileSync(`/proc/${child}/cmdline`, "latin1").startsWith("sleep"), 5000, "the child's exec");
  assert.ok(alive(child));
  const outcome = await terminate(target(identity, { stopTimeout: 0.5 }));
  assert.is(outcome, "killed", "the group outlived the stop timeout");
  assert.not.ok(alive(identity.pid));
  assert.not.ok(alive(child), "the group member survived the stop");
});

test("a dead leader whose group member lives on: the member, carrying its tag, is reaped", async () => {
  const dir = makeTempDir();
  const childPidFile = path.join(dir, "child.pid");
  const tag = `svc:0123:${dir}`;
  const { identity } = await startService({ CHILD_PID_FILE: childPidFile, PROCMAN_TAG: tag });
  const child = Number(readFileSync(childPidFile, "utf8"));
  process.kill(identity.pid, "SIGKILL");
  await waitFor(() => !alive(identity.pid), 5000, "the leader's death");
  assert.ok(alive(child));
  assert.is(await terminate(target(identity, { tag })), "already-gone");
  assert.not.ok(alive(child), "the orphaned member was left running");
});

test("a dead leader's group member without its tag is left alone (the group number may be someone else's)", async () => {
  const dir = makeTempDir();
  const childPidFile = path.join(dir, "child.pid");
  const { identity } = await startService({ CHILD_PID_FILE: childPidFile, PROCMAN_TAG: "other:1:/elsewhere" });
  const child = Number(readFileSync(childPidFile, "utf8"));
  process.kill(identity.pid, "SIGKILL");
  await waitFor(() => !alive(identity.pid), 5000, "the leader's death");
  assert.is(await terminate(target(identity, { tag: `svc:0123:${dir}` })), "already-gone");
  assert.ok(alive(child), "an untagged member was signalled");
});

test("a reused PID (same PID, another start time) is never signalled", async () => {
  const sleeper = unrelatedProcess();
  try {
    const identity = await waitFor(() => identityOf(sleeper.pid), 5000);
    const outcome = await terminate(target({ pid: identity.pid, startTime: String(Number(identity.startTime) + 1) }));
    assert.is(outcome, "reused");
    assert.ok(alive(sleeper.pid), "procman signalled a process it did not start");
    assert.is(identityOf(sleeper.pid)?.startTime, identity.startTime);
  } finally {
    sleeper.stop();
  }
});

test("a process that is not a group leader is signalled alone, never its group", async () => {
  // In this test runner's own process group: signalling the group would kill the runner.
  const child = spawn("sleep", ["100"], { stdio: "ignore" });
  spawned.push(child);
  const identity = await waitFor(() => identityOf(child.pid!), 5000);
  assert.is(await terminate(target(identity)), "stopped");
  assert.not.ok(alive(child.pid!));
  assert.ok(alive(process.pid));
});

test("the PID file is removed when it names the stopped process, kept when it names another", async () => {
  const dir = makeTempDir();
  const pidFile = path.join(dir, "svc.pid");
  const first = await startService({});
  writeFileSync(pidFile, `${first.identity.pid}\n`);
  await terminate(target(first.identity, { pidFile }));
  assert.not.ok(existsSync(pidFile), "the PID file of the stopped process is left");

  const second = await startService({});
  writeFileSync(pidFile, "1\n"); // someone else's now
  await terminate(target(second.identity, { pidFile }));
  assert.is(readFileSync(pidFile, "utf8"), "1\n");
});

test("already gone: nothing to signal, the stale PID file goes", async () => {
  const dir = makeTempDir();
  const pidFile = path.join(dir, "svc.pid");
  const { identity } = await startService({});
  process.kill(identity.pid, "SIGKILL");
  await waitFor(() => !alive(identity.pid), 5000);
  writeFileSync(pidFile, `${identity.pid}\n`);
  assert.is(await terminate(target(identity, { pidFile })), "already-gone");
  assert.not.ok(existsSync(pidFile));
});

test("a paused (SIGSTOP) process gets SIGCONT after its stop signal: it stops by SIGTERM, not by SIGKILL after the timeout", async () => {
  const { identity, events } = await startService({});
  process.kill(identity.pid, "SIGSTOP");
  await waitFor(() => checkIdentity(identity) === "paused", 5000, "the paused state");
  assert.is(await terminate(target(identity, { stopTimeout: 20 })), "stopped");
  assert.equal(readEvents(events).map((event) => event.event), ["start", "ready", "term"]);
});

test("a recorded group is signalled only while the process leads it; a recorded pgid that is not its own is never signalled", async () => {
  // A process in the runner's group, recorded (falsely) with the runner's group: only the PID may be signalled.
  const child = spawn("sleep", ["100"], { stdio: "ignore" });
  spawned.push(child);
  const identity = await waitFor(() => identityOf(child.pid!), 5000);
  assert.not.ok(mayKillGroup(identity, process.pid));
  assert.is(await terminate(target(identity, { pgid: readProcStat(process.pid)!.pgrp })), "stopped");
  assert.ok(alive(process.pid));
  const leader = await startService({});
  assert.ok(mayKillGroup(leader.identity, leader.identity.pid));
  assert.not.ok(mayKillGroup({ ...leader.identity, startTime: "1" }, leader.identity.pid), "another start time");
});

test("sweepTagged: every live process carrying a stopped tag, in any session, in one call; others are left; a paused one goes by its stop signal", async () => {
  const dir = makeTempDir();
  const tagA = `a:1:${dir}`;
  const tagB = `b:2:${dir}`;
  const a = await startService({ PROCMAN_TAG: tagA });
  const b = await startService({ PROCMAN_TAG: tagB, IGNORE_TERM: "1" });
  const other = await startService({ PROCMAN_TAG: `c:3:${dir}` });
  process.kill(a.identity.pid, "SIGSTOP");
  const swept = await sweepTagged(
    new Map([
      [tagA, { stopSignal: "SIGTERM", stopTimeout: 20 }],
      [tagB, { stopSignal: "SIGTERM", stopTimeout: 0.3 }],
    ]),
  );
  assert.equal(swept.map((entry) => [entry.pid, entry.killed]).sort(), [[a.identity.pid, false], [b.identity.pid, true]].sort());
  assert.not.ok(alive(a.identity.pid));
  assert.not.ok(alive(b.identity.pid));
  assert.ok(alive(other.identity.pid), "an untagged process was swept");
  assert.equal(readEvents(a.events).map((event) => event.event), ["start", "ready", "term"]);
});

test("sweepTagged never touches procman itself or an excluded PID, even carrying the tag", async () => {
  const dir = makeTempDir();
  const tag = `s:1:${dir}`;
  const excluded = await startService({ PROCMAN_TAG: tag });
  assert.equal(await sweepTagged(new Map([[tag, { stopSignal: "SIGTERM", stopTimeout: 1 }]]), { exclude: [excluded.identity.pid] }), []);
  assert.ok(alive(excluded.identity.pid));
});

test.run();
