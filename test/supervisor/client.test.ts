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

test.run();
