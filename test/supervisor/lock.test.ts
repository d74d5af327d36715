// Never fight the operator: nothing of the supervisor's own happens while another procman holds the
// lock or has paused it; once the lock is released (or the pause ends) it acts on what it missed.
// An operator's stop (expectStop with operator) is recorded and never undone.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StateDir } from "../../src/executor/state-dir.js";
import { terminate } from "../../src/executor/terminate.js";
import { tagFor } from "../../src/executor/launch.js";
import { startSupervisor, type SupervisorClient } from "../../src/supervisor/client.js";
import { alive, stateDir, waitFor } from "../helpers/processes.js";
import { deploy, eventsFile, processSpec, starts, supervision, teardown, waitSupervision } from "./helpers.js";

/** Long enough for several of the supervisor's polls (250 ms) and a restart delay (50 ms). */
const SEVERAL_POLLS = 1200;

test("a crash while another procman holds the lock is restarted only after the lock is released", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const events = eventsFile(dir);
    const records = await deploy(dir, [processSpec(dir, "victim", { EVENTS: events })], client);
    await waitFor(() => starts(events, "victim").length === 1, 5000, "victim's start recorded");
    const release = await new StateDir(dir).lock(5);
    try {
      process.kill(records.get("victim")!.pid, "SIGKILL");
      await waitFor(() => !alive(records.get("victim")!.pid), 5000, "victim dead");
      await new Promise((resolve) => setTimeout(resolve, SEVERAL_POLLS));
      assert.is(starts(events, "victim").length, 1, "not restarted while the lock is held");
      assert.is(supervision(dir, "victim")?.restarts, 0);
    } finally {
      await release();
    }
    await waitSupervision(dir, "victim", "restarted after the release", (s) => s.restarts === 1);
    await waitFor(() => starts(events, "victim").length === 2, 5000, "the second start");
  } finally {
    await teardown(dir, client);
  }
});

test("paused: a crash waits for resume; an operator's stop is never undone", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const events = eventsFile(dir);
    const records = await deploy(dir, [processSpec(dir, "a", { EVENTS: events }), processSpec(dir, "b", { EVENTS: events })], client);
    await waitFor(() => starts(events).length === 2, 5000, "both starts recorded");
    await client.pause();
    process.kill(records.get("a")!.pid, "SIGKILL");
    await waitFor(() => !alive(records.get("a")!.pid), 5000, "a dead");
    await new Promise((resolve) => setTimeout(resolve, SEVERAL_POLLS));
    assert.is(starts(events, "a").length, 1, "not restarted while paused");
    // procman stop b: announced as the operator's, stopped, record kept out.
    await client.expectStop(["b"], true);
    const b = records.get("b")!;
    await terminate({ ...b, tag: tagFor("b", b.specHash, dir) });
    new StateDir(dir).removeRecord("b");
    await client.resume();
    await waitSupervision(dir, "a", "a restarted after resume", (s) => s.restarts === 1);
    assert.is(supervision(dir, "b")?.state, "stopped");
    await client.pause();
    await client.resume();
    assert.is(starts(events, "b").length, 1, "b stays stopped");
  } finally {
    await teardown(dir, client);
  }
});

test("a pause ends with the connection of the procman that paused (it died without resuming)", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const events = eventsFile(dir);
    const records = await deploy(dir, [processSpec(dir, "a", { EVENTS: events })], client);
    await waitFor(() => starts(events).length === 1, 5000, "the start recorded");
    const { connectSupervisor } = await import("../../src/supervisor/client.js");
    const other = (await connectSupervisor(dir))!;
    await other.pause();
    process.kill(records.get("a")!.pid, "SIGKILL");
    await waitFor(() => !alive(records.get("a")!.pid), 5000, "a dead");
    other.close(); // as if that procman was killed mid-command
    await waitSupervision(dir, "a", "restarted once the pausing connection is gone", (s) => s.restarts === 1);
  } finally {
    await teardown(dir, client);
  }
});

test.run();
