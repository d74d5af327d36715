// Every Node-only example runs for real: switch, a request or a check, stop — so the docs cannot rot.
// (examples/webapp, which needs nginx, is run by the end-to-end tests.)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listPids, readEnvironmentVariable, readProcStat } from "../../src/executor/proc.js";
import { EXAMPLES, ROOT } from "../helpers/paths.js";
import { makeTempDir } from "../helpers/tmp.js";

const BIN = path.join(ROOT, "dist", "src", "cli", "bin.js");

function procman(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Live processes spawned for this state dir (zombies are dead: PID 1 here may not reap them). */
function tagged(stateDir: string): number[] {
  return listPids().filter((pid) => {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== "Z" && readEnvironmentVariable(pid, "PROCMAN_TAG")?.endsWith(`:${stateDir}`) === true;
  });
}

async function get(url: string): Promise<string> {
  const response = await fetch(url);
  assert.is(response.status, 200);
  return response.text();
}

async function withExample(model: string, check: (stateDir: string) => Promise<void>): Promise<void> {
  const stateDir = makeTempDir();
  try {
    const result = procman("switch", path.join(EXAMPLES, model), "--state-dir", stateDir);
    assert.is(result.status, 0, result.stderr);
    const status = JSON.parse(procman("status", "--json", "--state-dir", stateDir).stdout);
    for (const process of status.processes) assert.is(process.state, "running", `${process.name} is ${process.state}`);
    await check(stateDir);
  } finally {
    assert.is(procman("stop", "--state-dir", stateDir).status, 0);
  }
  assert.equal(tagged(stateDir), [], "stop leaves no process behind");
}

test("quickstart: the web app answers through the Node proxy", async () => {
  await withExample("quickstart/processes.ts", async () => {
    assert.match(await get("http://127.0.0.1:5101/"), "Hello from webapp");
  });
});

test("multi-instance: both instances answer through one proxy, in turn", async () => {
  await withExample("multi-instance/processes.ts", async () => {
    const ports = new Set<string>();
    for (let i = 0; i < 4; i++) ports.add(/on port (\d+)/.exec(await get("http://127.0.0.1:5200/"))?.[1] ?? "");
    assert.equal([...ports].sort(), ["5201", "5202"]);
  });
});

test("daemon: a self-daemonizing process is recorded with the PID its PID file names", async () => {
  await withExample("daemon/processes.ts", async (stateDir) => {
    const pid = Number(readFileSync(path.join(stateDir, "run", "webapp-daemon.pid"), "utf8"));
    assert.match(await get("http://127.0.0.1:5300/"), `PID ${pid}`);
    const status = JSON.parse(procman("status", "--json", "--state-dir", stateDir).stdout);
    const daemon = status.processes.find((process: { name: string }) => process.name === "webapp-daemon");
    assert.is(daemon.pid, pid);
    assert.is(daemon.mode, "daemon");
    assert.is(status.processes.find((process: { name: string }) => process.name === "webapp-both").mode, "foreground");
  });
});

test("yaml: the watcher starts only after the counter logged its ready line", async () => {
  await withExample("yaml/processes.yaml", async (stateDir) => {
    const log = readFileSync(path.join(stateDir, "log", "counter.log"), "utf8");
    assert.match(log, /^counter ready$/m);
  });
});

test.run();
