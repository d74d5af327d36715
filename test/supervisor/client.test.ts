// The client's contract: a failed spawn comes back as launch's StartError (naming the process), a
// supervisor that is not running is `undefined`, and requests work while paused (the lock holder's).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StartError } from "../../src/executor/launch.js";
import { checkIdentity } from "../../src/executor/proc.js";
import { connectSupervisor, startSupervisor, supervisorStatus, type SupervisorClient } from "../../src/supervisor/client.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { stateDir } from "../helpers/processes.js";
import { processSpec, teardown } from "./helpers.js";

test("no supervisor: connect gives undefined and status says not running", async () => {
  const dir = stateDir();
  assert.is(await connectSupervisor(dir), undefined);
  assert.equal(supervisorStatus(dir), { running: false, pid: null });
});

test("spawn while paused; a failed spawn is a StartError naming the process", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    await client.pause();
    const good = processSpec(dir, "good", {});
    const launched = await client.spawn(good, specHash(good));
    assert.is(checkIdentity(launched), "running");
    assert.is(typeof launched.logOffset, "number");
    const bad = { ...processSpec(dir, "bad", {}), directory: `${dir}/missing` };
    const error = await client.spawn(bad, specHash(bad)).then(() => undefined, (e: unknown) => e);
    assert.instance(error, StartError);
    assert.is((error as StartError).process, "bad");
    assert.match((error as StartError).message, "does not exist");
    process.kill(launched.pid, "SIGKILL");
  } finally {
    await teardown(dir, client);
  }
});

// A command killed right after it started a supervisor leaves one that writes its PID file only
// after the next command's begin() looked: that command's link must take it over (it holds the
// lock), not fail to start a second one.
test("the link takes over a supervisor that appeared after begin() looked", async () => {
  const dir = stateDir();
  const { SupervisorLink } = await import("../../src/executor/backends/supervision.js");
  const link = new SupervisorLink(dir);
  let other: SupervisorClient | undefined;
  let client: SupervisorClient | undefined;
  try {
    await link.begin(); // none yet
    other = await startSupervisor(dir);
    client = await link.ensure();
    assert.is(client.pid, other.pid);
    const spec = processSpec(dir, "taken", {});
    const launched = await link.spawn(spec, specHash(spec));
    assert.is(checkIdentity(launched), "running");
  } finally {
    other?.close();
    await teardown(dir, client);
  }
});

test.run();
