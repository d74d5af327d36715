// switch -P for the other managers, end to end through the CLI: sysvinit and supervisord for real,
// launchd through a fake of launchctl (test/fixtures/fakes) that records calls and models the
// asynchronous bootout from the seed. systemd runs for real in a container: test/systemd/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../../src/executor/proc.js";
import { ROOT, fixture } from "../../helpers/paths.js";
import { makeTempDir } from "../../helpers/tmp.js";
import { alive, tagged, waitFor } from "../../helpers/processes.js";
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

test("launchd (fake launchctl with a lingering bootout): waits for the label, retries error 5, kickstarts unchanged plists", async () => {
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
    // The pid launchctl print names (pid null before); a loaded job whose process died is dead.
    const jobPid = (name: string) => (JSON.parse(readFileSync(path.join(fake, "jobs", `org.procman.${name}.json`), "utf8")) as { pid: number }).pid;
    assert.equal(status.processes.map((p: { pid: number | null }) => p.pid), [jobPid("a"), jobPid("b")]);
    process.kill(jobPid("a"), "SIGKILL");
    await waitFor(() => !alive(jobPid("a")), 10_000, "a's process dead");
    const after = JSON.parse(procman(["status", "--json", "--state-dir", state], env).stdout);
    assert.equal(after.processes.map((p: { state: string; pid: number | null }) => `${p.state}:${p.pid}`), ["dead:null", `running:${jobPid("b")}`]);
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
    // status: the PID the script's PID file names, looked at in /proc (it said pid null before).
    const seen = (name: string) => (JSON.parse(procman(["status", "--json", "--state-dir", state]).stdout) as { processes: { name: string; state: string; pid: number | null }[] }).processes.find((p) => p.name === name);
    assert.equal([seen("a")?.state, seen("a")?.pid], ["running", pidA]);
    process.kill(pidA!, "SIGSTOP");
    try {
      assert.is(seen("a")?.state, "paused");
    } finally {
      process.kill(pidA!, "SIGCONT");
    }
    // A PID file (and its start time) rewritten to name another live process, as a service that
    // can write runtimeDir could: the script takes it, procman names no PID it did not start.
    const pidFile = path.join(state, "run", "b.pid");
    const real = readFileSync(pidFile, "utf8");
    const realStart = readFileSync(`${pidFile}.start`, "utf8");
    writeFileSync(`${pidFile}.start`, `${readProcStat(process.pid)!.startTime}\n`);
    writeFileSync(pidFile, `${process.pid}\n`);
    try {
      assert.equal([seen("b")?.state, seen("b")?.pid], ["running", null], "running by the script's word, but not procman's PID to name");
    } finally {
      writeFileSync(pidFile, real);
      writeFileSync(`${pidFile}.start`, realStart);
    }
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
    // procman status: the PID supervisord names, looked at in /proc (a review found pid null, and
    // a program stopped by SIGSTOP reported running).
    const pidA = Number(/^procman:a\s+RUNNING\s+pid (\d+),/m.exec(status)?.[1]);
    const seen = () => JSON.parse(procman(["status", "--json", "--state-dir", state]).stdout) as { processes: { name: string; state: string; pid: number | null }[] };
    assert.equal(seen().processes.find((p) => p.name === "a"), { ...seen().processes.find((p) => p.name === "a")!, state: "running", pid: pidA });
    process.kill(pidA, "SIGSTOP");
    try {
      assert.is(seen().processes.find((p) => p.name === "a")?.state, "paused");
    } finally {
      process.kill(pidA, "SIGCONT");
    }
  } finally {
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
  }
  const pid = pidOf(path.join(path.dirname(conf), "supervisord.pid"));
  assert.is(pid, undefined, "supervisord is gone");
});

// Programs deployed to supervisord carry PROCMAN_TAG: killed with kill -9, supervisord leaves
// them running unseen; the next switch stops them before starting its own, and stop sweeps them.
test("supervisord killed -9: the next switch runs one instance of each, and stop leaves nothing", () => {
  if (!haveTool("supervisord", "supervisord kill -9")) return;
  const state = makeTempDir();
  const models = makeTempDir();
  const instancesOf = () => tagged(state).map((entry) => entry.name).sort();
  const supervisordPid = () => Number(spawnSync("supervisorctl", ["-c", path.join(state, "lib", "procman", "supervisord", "supervisord.conf"), "pid"], { encoding: "utf8" }).stdout.trim());
  try {
    assert.is(procman(["switch", writeModel(models, "a1"), "-P", "supervisord", "--state-dir", state]).status, 0);
    assert.equal(instancesOf(), ["a", "b"]);
    const first = supervisordPid();
    assert.ok(first > 0, "supervisord answers");
    process.kill(first, "SIGKILL");
    const again = procman(["switch", writeModel(models, "a1"), "-P", "supervisord", "--state-dir", state]);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stdout + again.stderr, "unknown to supervisord");
    assert.equal(instancesOf(), ["a", "b"], "one of each, not two");
    process.kill(supervisordPid(), "SIGKILL");
  } finally {
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
  }
  assert.equal(tagged(state), [], "stop left nothing of what the dead supervisord ran");
});

/** a is fine; b fails its readiness at once (exits), so the first deploy must be undone. */
function writeFailingModel(dir: string): string {
  const file = path.join(dir, "failing.json");
  writeFileSync(
    file,
    JSON.stringify({
      a: { process: "/bin/sleep", args: ["3001"], stop: { timeout: 2 } },
      b: { process: "/bin/sh", args: ["-c", "exit 3"], activatesAfter: ["a"], readiness: { command: "test -e /nonexistent/procman-ready", timeout: 3 }, restart: "no", stop: { timeout: 2 } },
    }),
  );
  return file;
}

/** Every file under dir, relative (what a failed first deploy must not leave behind). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.endsWith(".log"))
    .sort();
}

const sleeping = (arg: string) =>
  readdirSync("/proc").filter((entry) => /^[0-9]+$/.test(entry)).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
      return argv[0] === "/bin/sleep" && argv[1] === arg && readProcStat(Number(pid))?.state !== "Z";
    } catch {
      return false;
    }
  });

for (const manager of ["sysvinit", "supervisord", "launchd"] as const) {
  test(`${manager}: a failed first deploy leaves nothing running and nothing installed, and exits 1`, () => {
    if (manager === "supervisord" && !haveTool("supervisord", "supervisord deploy")) return;
    const state = makeTempDir();
    const models = makeTempDir();
    const fake = makeTempDir();
    const env: Record<string, string> = manager === "launchd" ? { PATH: `${FAKES}:${process.env.PATH}`, FAKE_LAUNCHD_DIR: fake, FAKE_LAUNCHD_LINGER_MS: "100", FAKE_LAUNCHD_BUSY_ATTEMPTS: "0" } : {};
    const result = procman(["switch", writeFailingModel(models), "-P", manager, "--state-dir", state], env);
    assert.is(result.status, 1, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stderr, "b");
    assert.equal(sleeping("3001"), [], "a was stopped again");
    assert.equal(filesUnder(path.join(state, "lib", "procman", manager)), [], "nothing of the deploy stays installed");
    const status = JSON.parse(procman(["status", "--json", "--state-dir", state], env).stdout) as { generation: number | null };
    assert.is(status.generation, null, "no generation recorded");
    if (manager === "supervisord") {
      const conf = path.join(state, "lib", "procman", "supervisord", "supervisord.conf");
      assert.not.ok(existsSync(conf));
      assert.is(pidOf(path.join(state, "lib", "procman", "supervisord", "supervisord.pid")), undefined, "supervisord was shut down");
    }
  });
}

// The install dir is part of the deployment: stop, status, start and rollback find the files
// where switch put them, and a switch without --install-dir keeps them there.
test("sysvinit --install-dir: remembered by status, a plain switch, stop and start; moving it is refused", () => {
  const state = makeTempDir();
  const models = makeTempDir();
  const dir = path.join(makeTempDir(), "init");
  const model = writeModel(models, "a1");
  try {
    const first = procman(["switch", model, "-P", "sysvinit", "--install-dir", dir, "--state-dir", state]);
    assert.is(first.status, 0, first.stderr);
    assert.ok(existsSync(path.join(dir, "init.d", "procman-a")), "installed there");
    const pidA = pidOf(path.join(state, "run", "a.pid"));
    assert.ok(pidA !== undefined, "a runs");
    const status = procman(["status", "--json", "--state-dir", state]);
    assert.is(status.status, 0, status.stdout + status.stderr);
    const shown = (JSON.parse(status.stdout) as { processes: Record<string, unknown>[] }).processes;
    assert.equal(shown.map((entry) => entry.state), ["running", "running"]);
    // The keys DESIGN gives every process, whatever the manager.
    for (const entry of shown) for (const key of ["name", "state", "pid", "restarts", "lastExit", "health"]) assert.ok(key in entry, `${key} in ${JSON.stringify(entry)}`);
    assert.is(procman(["switch", model, "-P", "sysvinit", "--state-dir", state]).status, 0, "a plain switch");
    assert.is(pidOf(path.join(state, "run", "a.pid")), pidA, "nothing restarted: the same deployment");
    const moved = procman(["switch", model, "-P", "sysvinit", "--install-dir", path.join(models, "elsewhere"), "--state-dir", state]);
    assert.is(moved.status, 2, moved.stdout + moved.stderr);
    assert.match(moved.stderr, `installed its files in ${dir}`);
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
    assert.is(pidOf(path.join(state, "run", "a.pid")), undefined, "stop stopped a");
    assert.equal(sleeping("1021"), []);
    assert.is(procman(["start", "--state-dir", state]).status, 0);
    assert.ok(pidOf(path.join(state, "run", "a.pid")) !== undefined, "start brought it back from the same scripts");
  } finally {
    assert.is(procman(["stop", "--state-dir", state]).status, 0);
  }
  assert.equal(sleeping("1021"), []);
});

test("a generated name that exists and is not this state dir's is refused (exit 2) and nothing changes", () => {
  const state = makeTempDir();
  const models = makeTempDir();
  const other = makeTempDir();
  // Another state dir's install directory: a script of the same name there is not ours.
  const dir = path.join(other, "init");
  mkdirSync(path.join(dir, "init.d"), { recursive: true });
  writeFileSync(path.join(dir, "init.d", "procman-a"), "#!/bin/sh\necho not procman's\n", { mode: 0o755 });
  const result = procman(["switch", writeModel(models, "a1"), "-P", "sysvinit", "--install-dir", dir, "--state-dir", state]);
  assert.is(result.status, 2, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, path.join(dir, "init.d", "procman-a"));
  assert.is(readFileSync(path.join(dir, "init.d", "procman-a"), "utf8"), "#!/bin/sh\necho not procman's\n");
  assert.equal(sleeping("1021"), []);
  assert.not.ok(existsSync(path.join(dir, "init.d", "procman-b")), "nothing was installed");
});

test("switch -P systemd where no systemd runs (this host) changes nothing and says why", () => {
  if (existsSync("/run/systemd/system")) return; // a systemd host: the container tests cover it
  const state = makeTempDir();
  const models = makeTempDir();
  const before = existsSync("/etc/systemd/system") ? readdirSync("/etc/systemd/system").sort() : [];
  const result = procman(["switch", writeModel(models, "a1"), "-P", "systemd", "--state-dir", state]);
  assert.is(result.status, 1, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, "systemd is not running here");
  assert.equal(existsSync("/etc/systemd/system") ? readdirSync("/etc/systemd/system").sort() : [], before);
  assert.equal(sleeping("1021"), []);
});

test.run();
