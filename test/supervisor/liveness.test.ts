// Liveness with a frozen process (SIGSTOP): each kind notices, the process is stopped (its stop
// signal, SIGCONT, SIGKILL after the timeout) and restarted with lastExit.reason "liveness".
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Liveness } from "../../src/model/types.js";
import { acceptQueue, tcpAlive } from "../../src/supervisor/liveness.js";
import { startSupervisor, type SupervisorClient } from "../../src/supervisor/client.js";
import { alive, freePort, NODE, stateDir, waitFor } from "../helpers/processes.js";
import { deploy, processSpec, recordOf, teardown, waitSupervision, type Extra } from "./helpers.js";

const timing = { interval: 0.2, timeout: 0.5, failures: 2 };

async function frozenIsRestarted(env: Record<string, string>, liveness: Liveness, extra: Extra = {}): Promise<void> {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const spec = processSpec(dir, "svc", env, { liveness, stop: { timeout: 2 }, ...extra });
    const first = (await deploy(dir, [spec], client)).get("svc")!;
    await waitSupervision(dir, "svc", "healthy", (s) => s.health === "healthy");
    process.kill(first.pid, "SIGSTOP");
    const status = await waitSupervision(dir, "svc", "restarted for liveness", (s) => s.restarts === 1 && s.lastExit?.reason === "liveness", 20_000);
    assert.is(status.lastExit?.reason, "liveness");
    assert.ok(!alive(first.pid), "the frozen process is gone");
    const second = recordOf(dir, "svc")!;
    assert.is.not(second.pid, first.pid);
    await waitSupervision(dir, "svc", "healthy again", (s) => s.health === "healthy");
  } finally {
    await teardown(dir, client);
  }
}

test("tcp: a frozen listener still completes handshakes; its accept queue does not drain", async () => {
  const port = await freePort();
  await frozenIsRestarted({ TCP_PORT: String(port) }, { kind: "tcp", host: "127.0.0.1", port, ...timing }, {
    readiness: { kind: "tcp", host: "127.0.0.1", port, owned: false, timeout: 10, interval: 0.05 },
  });
});

test("http: a frozen server times out", async () => {
  const port = await freePort();
  await frozenIsRestarted({ HTTP_PORT: String(port) }, { kind: "http", url: `http://127.0.0.1:${port}/`, status: 200, ...timing }, {
    readiness: { kind: "tcp", host: "127.0.0.1", port, owned: false, timeout: 10, interval: 0.05 },
  });
});

test("command: a check that needs an answer from the frozen process is killed at its timeout", async () => {
  const port = await freePort();
  const command = `exec ${NODE} -e 'require("net").connect(${port}, "127.0.0.1").on("data", () => process.exit(0)).on("error", () => process.exit(1))'`;
  await frozenIsRestarted({ TCP_PORT: String(port) }, { kind: "command", command, interval: 0.3, timeout: 2, failures: 2 }, {
    readiness: { kind: "tcp", host: "127.0.0.1", port, owned: false, timeout: 10, interval: 0.05 },
  });
});

test("logWithin: a log gone silent (the stuck builder); onFailure is told it became unhealthy", async () => {
  const told = `${stateDir()}/told`;
  await frozenIsRestarted({ LOG_EVERY_MS: "50" }, { kind: "logWithin", seconds: 0.6, interval: 0.2, timeout: 1, failures: 1 }, {
    onFailure: `echo "$PROCMAN_PROCESS $PROCMAN_STATE" >> ${told}`,
  });
  const { readFileSync, existsSync } = await import("node:fs");
  await waitFor(() => existsSync(told) && readFileSync(told, "utf8").includes("\n"), 5000, "onFailure output");
  assert.is(readFileSync(told, "utf8").split("\n")[0], "svc unhealthy");
});

test("tcp check alone: the accept queue of a frozen listener grows, and the check fails by its timeout", async () => {
  const { spawn } = await import("node:child_process");
  const port = await freePort();
  const child = spawn(NODE, ["-e", `require("net").createServer((s) => s.end()).listen(${port}, "127.0.0.1", () => console.log("up"))`], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    await new Promise((resolve) => child.stdout!.once("data", resolve));
    assert.is(await tcpAlive("127.0.0.1", port, 1000), true);
    assert.is(acceptQueue(port), 0);
    child.kill("SIGSTOP");
    assert.is(await tcpAlive("127.0.0.1", port, 300), false);
    await waitFor(() => (acceptQueue(port) ?? 0) >= 1, 2000, "a queued connection");
  } finally {
    child.kill("SIGKILL");
  }
});

test.run();
