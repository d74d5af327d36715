// runForeground (procman up): the supervisor in this process, reachable on the control socket by
// other procman commands, streaming each process's log lines marked with its name.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connectSupervisor, supervisorStatus } from "../../src/supervisor/client.js";
import { runForeground } from "../../src/supervisor/foreground.js";
import { stateDir, waitFor } from "../helpers/processes.js";
import { deploy, processSpec, teardown, waitSupervision } from "./helpers.js";

test("streams marked log lines, restarts a crash (announced), answers on its socket, ends cleanly", async () => {
  const dir = stateDir();
  const lines: string[] = [];
  const foreground = await runForeground(dir, (line) => lines.push(line), { pollMs: 20 });
  const client = await connectSupervisor(dir);
  try {
    assert.ok(client !== undefined, "reachable on its socket");
    assert.is(client!.pid, process.pid);
    assert.equal(supervisorStatus(dir), { running: true, pid: process.pid });
    await deploy(dir, [
      processSpec(dir, "web", { LOG_EVERY_MS: "100" }),
      processSpec(dir, "job", { COUNT_FILE: `${dir}/count`, EXIT_CODE: "4", EXIT_AFTER_MS: "300", CRASH_TIMES: "1" }),
    ], client!);
    await waitFor(() => lines.includes("web     | web: alive"), 10_000, `web's lines (got ${JSON.stringify(lines.slice(-5))})`);
    await waitSupervision(dir, "job", "restarted", (s) => s.restarts === 1);
    await waitFor(() => lines.some((line) => line.startsWith("procman | job: PID ") && line.includes("exited with code 4")), 5000, "the exit announced");
    await waitFor(() => lines.includes("job     | job: start 2"), 5000, "the restarted job's first line");
  } finally {
    await teardown(dir, client);
    await foreground.shutdown();
  }
  assert.equal(supervisorStatus(dir), { running: false, pid: null });
  await foreground.ended;
});

test.run();
