// switch -P for the other managers, end to end through the CLI: sysvinit and supervisord for real,
// systemd and launchd through fakes of systemctl and launchctl (test/fixtures/fakes) that record
// calls and, for launchd, model the asynchronous bootout from the seed.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../../src/executor/proc.js";
import { ROOT, fixture } from "../../helpers/paths.js";
import { makeTempDir } from "../../helpers/tmp.js";
import { haveTool } from "../../helpers/tools.js";

const BIN = path.join(ROOT, "dist", "src", "cli", "bin.js");
const FAKES = fixture("fakes");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function procman(args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Two processes, b after a; each a sleep distinguishable by its argument. */
function writeModel(dir: string, tagA: string, tagB = "b1"): string {
  const file = path.join(dir, "processes.json");
  writeFileSync(
    file,
    JSON.stringify({
      a: { process: "/bin/sleep", args: [`10${tagA.length}${tagA === "a1" ? "1" : "2"}`], stop: { timeout: 2 } },
      b: { process: "/bin/sleep", args: [`20${tagB === "b1" ? "1" : "2"}`], activatesAfter: ["a"], stop: { timeout: 2 } },
    }),
  );
  return file;
}

function calls(dir: string): string[][] {
  try {
    return readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as string[]);
  } catch {
    return [];
  }
}

function pidOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== "Z" ? pid : undefined;
  } catch {
    return undefined;
  }
}

test("systemd (fake systemctl): units linked, reloaded, started in order; unchanged ones left alone", () => {
  const state = makeTempDir();
  const fake = makeTempDir();
  const models = makeTempDir();
  const env = { PATH: `${FAKES}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: fake };
  const first = procman(["switch", writeModel(models, "a1"), "-P", "systemd", "--state-dir", state], env);
  assert.is(first.status, 0, first.stderr);
  const log = calls(fake).map((call) => call.filter((arg) => arg !== "--user"));
  const verbs = log.map((call) => `${call[0]} ${call.slice(1).map((arg) => path.basename(arg)).join(" ")}`.trim());
  assert.equal(verbs.filter((verb) => !verb.startsWith("is-active")), ["link a.service b.service", "daemon-reload", "start a.service", "start b.service"]);

  const status = JSON.parse(procman(["status", "--json", "--state-dir", state], env).stdout);
  assert.equal(status.processes.map((p: { state: string }) => p.state), ["running", "running"]);
  assert.is(status.processManager, "systemd");

  const count = calls(fake).length;
  assert.is(procman(["switch", writeModel(models, "a1"), "-P", "systemd", "--state-dir", state], env).status, 0);
  const again = calls(fake).slice(count).map((call) => call.filter((arg) => arg !== "--user")[0]);
  assert.not.ok(again.includes("start") || again.includes("stop") || again.includes("restart"), `unexpected calls: ${again}`);

  // a changes: a stops and starts again; b, unchanged but after a, is restarted in place after a.
  const before = calls(fake).length;
  assert.is(procman(["switch", writeModel(models, "a2"), "-P", "systemd", "--state-dir", state], env).status, 0);
  const changed = calls(fake)
    .slice(before)
    .map((call) => call.filter((arg) => arg !== "--user"))
    .filter((call) => call[0] !== "is-active")
    .map((call) => `${call[0]} ${call.slice(1).map((arg) => path.basename(arg)).join(" ")}`.trim());
  assert.equal(changed, ["stop a.service", "link a.service b.service", "daemon-reload", "start a.service", "restart b.service"]);

  assert.is(procman(["stop", "--state-dir", state], env).status, 0);
  const stops = calls(fake).map((call) => call.filter((arg) => arg !== "--user")).filter((call) => call[0] === "stop").slice(-2);
  assert.equal(stops, [["stop", "b.service"], ["stop", "a.service"]]);
});

test("launchd (fake launchctl with a lingering bootout): waits for the label, retries error 5, kickstarts unchanged plists", () => {
  const state = makeTempDir();
  const fake = makeTempDir();
  const models = makeTempDir();
  const env = { PATH: `${FAKES}:${process.env.PATH}`, FAKE_LAUNCHD_DIR: fake, FAKE_LAUNCHD_LINGER_MS: "500", FAKE_LAUNCHD_BUSY_ATTEMPTS: "2" };
  try {
    const first = procman(["switch", writeModel(models, "a1"), "-P", "launchd", "--state-dir", state], env);
    assert.is(first.status, 0, first.stderr);
    const bootstraps = calls(fake).filter((call) => call[0] === "bootstrap").map((call) => path.basename(call[2]!));
    assert.equal(bootstraps, ["org.procman.a.plist", "org.procman.b.plist"]);

    const before = calls(fake).length;
    const changed = procman(["switch", writeModel(models, "a2"), "-P", "launchd", "--state-dir", state], env);
    assert.is(changed.status, 0, changed.stderr);
    const log = calls(fake).slice(before);
    const bootout = log.findIndex((call) => call[0] === "bootout" && call[1]!.endsWith("org.procman.a"));
    assert.ok(bootout >= 0, "a was booted out");
    // After bootout, print is polled until the label is gone, before any bootstrap.
    const firstBootstrap = log.findIndex((call) => call[0] === "bootstrap");
    assert.ok(log.slice(bootout + 1, firstBootstrap).some((call) => call[0] === "print"), "waited with print");
    // The label stays busy after print stops finding it: the first bootstraps fail with 5 and are retried.
    const bootstrapsOfA = log.filter((call) => call[0] === "bootstrap" && call[2]!.endsWith("org.procman.a.plist"));
    assert.is(bootstrapsOfA.length, 3, "two bootstraps failed with error 5 and were retried");
    // b's plist did not change: restarted with kickstart -k, not booted out.
    assert.ok(log.some((call) => call[0] === "kickstart" && call.includes("-k") && call.at(-1)!.endsWith("org.procman.b")));
    assert.not.ok(log.some((call) => call[0] === "bootout" && call[1]!.endsWith("org.procman.b")));

    const status = JSON.parse(procman(["status", "--json", "--state-dir", state], env).stdout);
    assert.equal(status.processes.map((p: { state: string }) => p.state), ["running", "running"]);
  } finally {
    assert.is(procman(["stop", "--state-dir", state], env).status, 0);
  }
});

test("sysvinit: scripts run for real; a second switch keeps the PIDs; a change restarts that process", () => {
  const state = makeTempDir();
  const models = makeTempDir();
  try {
    assert.is(procman(["switch", writeModel(models, "a1"), "-P", "sysvinit", "--state-dir", state]).status, 0);
    const pidA = pidOf(path.join(state, "run", "a.pid"));
    const pidB = pidOf(path.join(state, "run", "b.pid"));
    assert.ok(pidA !== undefined && pidB !== undefined, "both running");
    assert.is(procman(["switch", writeModel(models, "a1"), "-P", "sysvinit", "--state-dir", state]).status, 0);
    assert.is(pidOf(path.join(state, "run", "a.pid")), pidA);
    assert.is(pidOf(path.join(state, "run", "b.pid")), pidB);
    assert.is(procman(["switch", writeModel(models, "a1", "b2"), "-P", "sysvinit", "--state-dir", state]).status, 0);
    assert.is(pidOf(path.join(state, "run", "a.pid")), pidA, "a unchanged keeps its PID");
    assert.is.not(pidOf(path.join(state, "run", "b.pid")), pidB, "b changed and restarted");
  } finally {
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
  }
  assert.is(pidOf(path.join(state, "run", "a.pid")), undefined);
});

test("supervisord: a real supervisord for the state dir; stop shuts it down", () => {
  if (!haveTool("supervisord", "supervisord deploy")) return;
  const state = makeTempDir();
  const models = makeTempDir();
  const conf = path.join(state, "lib", "procman", "supervisord", "supervisord.conf");
  try {
    const result = procman(["switch", writeModel(models, "a1"), "-P", "supervisord", "--state-dir", state]);
    assert.is(result.status, 0, result.stderr);
    const status = spawnSync("supervisorctl", ["-c", conf, "status"], { encoding: "utf8" }).stdout;
    assert.match(status, /^procman:a\s+RUNNING/m);
    assert.match(status, /^procman:b\s+RUNNING/m);
  } finally {
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
  }
  const pid = pidOf(path.join(path.dirname(conf), "supervisord.pid"));
  assert.is(pid, undefined, "supervisord is gone");
});

test("systemd (fake): a failed start is undone, and what systemd stopped through Requires= runs again", () => {
  const state = makeTempDir();
  const fake = makeTempDir();
  const models = makeTempDir();
  const env = { PATH: `${FAKES}:${process.env.PATH}`, FAKE_SYSTEMD_DIR: fake };
  assert.is(procman(["switch", writeModel(models, "a1"), "-P", "systemd", "--state-dir", state], env).status, 0);
  const failing = procman(["switch", writeModel(models, "a2"), "-P", "systemd", "--state-dir", state], { ...env, FAKE_SYSTEMD_FAIL_ONCE: "a.service" });
  assert.is(failing.status, 1, failing.stderr);
  assert.match(failing.stderr, "a: systemctl");
  // Stopping a stopped b too (b Requires= a); the undo brings both back, with a's old unit.
  const active = JSON.parse(readFileSync(path.join(fake, "active.json"), "utf8")) as string[];
  assert.equal(active.sort(), ["a.service", "b.service"]);
  assert.match(readFileSync(path.join(state, "lib", "procman", "systemd", "a.service"), "utf8"), '"/bin/sleep" "1021"');
  const status = JSON.parse(procman(["status", "--json", "--state-dir", state], env).stdout);
  assert.is(status.generation, 1);
  assert.is(procman(["stop", "--state-dir", state], env).status, 0);
});

test.run();
