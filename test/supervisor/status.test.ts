// What `status` says while the supervisor is between a death and a ready process: a restarted
// process is not-ready until its readiness passes, whatever its kind (a log line is nothing status
// can probe); a backoff with no supervisor running is no restart to come: dead.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { readStatus } from "../../src/executor/status.js";
import { startSupervisor, supervisorStatus, type SupervisorClient } from "../../src/supervisor/client.js";
import { stateDir, waitFor } from "../helpers/processes.js";
import { deploy, eventsFile, processSpec, starts, teardown, waitSupervision, withSupervisor } from "./helpers.js";

const stateOf = async (dir: string, name: string) => (await readStatus(dir)).processes.find((entry) => entry.name === name);

test("a restart waiting for its log line is not-ready, then running once the line comes", () =>
  withSupervisor(async (dir, client) => {
    const events = eventsFile(dir);
    const gate = `${dir}/gate`;
    const spec = processSpec(dir, "lines", { EVENTS: events, COUNT_FILE: `${dir}/count`, READY_GATE: gate, EXIT_CODE: "1", EXIT_AFTER_MS: "300", CRASH_TIMES: "1" }, {
      readiness: { kind: "logLine", pattern: "^READY$", timeout: 60, interval: 0.05 },
    });
    await deploy(dir, [spec], client);
    await waitFor(() => starts(events, "lines").length === 2, 10_000, "the restart");
    const waiting = await waitFor(async () => {
      const entry = await stateOf(dir, "lines");
      return entry?.restarts === 1 ? entry : undefined;
    }, 10_000, "the restart recorded");
    assert.is(waiting.state, "not-ready", "its log line has not come");
    writeFileSync(gate, "");
    await waitFor(async () => (await stateOf(dir, "lines"))?.state === "running", 10_000, "running once ready");
  }));

test("backoff with the supervisor killed: dead, and no restart time", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const spec = processSpec(dir, "later", { EXIT_CODE: "1", EXIT_AFTER_MS: "300" }, { restart: { delay: 600, maxDelay: 600 } });
    await deploy(dir, [spec], client);
    await waitSupervision(dir, "later", "backoff", (s) => s.state === "backoff");
    const before = await stateOf(dir, "later");
    assert.is(before?.state, "backoff");
    assert.type(before?.nextRestartAt, "string");
    process.kill(client.pid, "SIGKILL");
    await waitFor(() => !supervisorStatus(dir).running, 5000, "the supervisor dead");
    client.close();
    client = undefined;
    const after = await stateOf(dir, "later");
    assert.is(after?.state, "dead");
    assert.is(after?.nextRestartAt, undefined);
  } finally {
    await teardown(dir, client);
  }
});

test.run();
