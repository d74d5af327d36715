// The shell that forks a command's starts must make what procman's own spawn makes: a session of
// its own, exactly the environment, no signal ignored or blocked, stdin /dev/null, the log procman
// opened, the umask and directory; and it must tell how a child ended.
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../src/executor/proc.js";
import { SpawnRunner, type RunnerKind } from "../../src/executor/spawn-runner.js";
import { waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { haveTool } from "../helpers/tools.js";

function status(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, "latin1")
      .split("\n")
      .map((line) => line.split(":\t") as [string, string]),
  );
}

const kinds: RunnerKind[] = ["sh"];
// perl-base is Essential on Debian and Ubuntu: CI has it; elsewhere the Perl runner's tests skip.
if (haveTool("perl", "the Perl runner's tests", { searchPath: "/usr/bin" })) kinds.push("perl");

for (const kind of kinds) {
  test(`${kind}: a child of the runner is what spawn({ detached }) makes`, async () => {
    const dir = makeTempDir();
    const log = path.join(dir, "out.log");
    const fd = openSync(log, "a");
    const runner = new SpawnRunner({ kind });
    const environment = { PATH: "/usr/bin:/bin", QUOTED: "it's \"here\"\nand $HOME `x`" };
    try {
      // A shell writes the output (it adds PWD to what it runs: the sleep below shows the environment).
      await runner.spawn({ argv: ["/bin/sh", "-c", 'echo "$QUOTED"; echo "cwd $(pwd)"'], environment, directory: dir, umask: "027", logFd: fd });
      const { pid } = await runner.spawn({ argv: ["sleep", "30"], environment, directory: dir, umask: "027", logFd: fd });
      closeSync(fd);
      await waitFor(() => readFileSync(log, "utf8").includes("cwd "), 10_000, "the child's output");
      const stat = await waitFor(() => {
        const seen = readProcStat(pid);
        return seen !== undefined && seen.session === pid && readFileSync(`/proc/${pid}/cmdline`, "latin1").startsWith("sleep") ? seen : undefined;
      }, 10_000, "the child in its own session, exec'd");
      assert.is(stat.pgrp, pid);
      const fields = status(pid);
      assert.is(fields.SigIgn, "0000000000000000", "no signal ignored (sh ignores INT and QUIT in what it runs in the background)");
      assert.is(fields.SigBlk, "0000000000000000");
      assert.is(fields.Umask, "0027");
      const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").filter((entry) => entry !== "");
      assert.equal(env.sort(), Object.entries(environment).map(([key, value]) => `${key}=${value}`).sort(), "exactly the environment");
      assert.is(readFileSync(log, "utf8"), `${environment.QUOTED}\ncwd ${dir}\n`);
        assert.is(readlinkSync(`/proc/${pid}/fd/0`), "/dev/null");
      assert.is(readlinkSync(`/proc/${pid}/fd/1`), log);
      process.kill(pid, "SIGKILL");
      const exit = await runner.exitOf(pid, stat.startTime);
      assert.equal(exit, { code: null, signal: "SIGKILL" });
    } finally {
      runner.close();
    }
  });

  test(`${kind}: exit statuses: a zombie's, and one the shell reaped already`, async () => {
    const runner = new SpawnRunner({ kind });
    const dir = makeTempDir();
    const fd = openSync(path.join(dir, "log"), "a");
    try {
      const { pid: quick } = await runner.spawn({ argv: ["/bin/sh", "-c", "exit 3"], environment: {}, directory: "/", umask: undefined, logFd: fd });
      // More forks make the shell reap what has exited: its status must still be known.
      for (let i = 0; i < 5; i++) await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd });
      const startTime = readProcStat(quick)?.startTime ?? "";
      assert.equal(await runner.exitOf(quick, startTime), { code: 3, signal: null });
    } finally {
      closeSync(fd);
      runner.close();
    }
  });

  test(`${kind}: checks: exit 0, a failure's code, and a timeout that kills the check's group`, async () => {
    const runner = new SpawnRunner({ kind });
    try {
      const request = (script: string) => ({ argv: ["/bin/sh", "-c", script], environment: { PATH: "/usr/bin:/bin" }, directory: "/", umask: undefined });
      assert.equal(await runner.check(request("test -d /"), 5000), { ok: true });
      assert.equal(await runner.check(request("exit 4"), 5000), { ok: false, why: "it exited with code 4" });
    // Perl gives the wait status itself: an exit code above 128 is no signal.
    if (kind === "perl") assert.equal(await runner.check(request("exit 130"), 5000), { ok: false, why: "it exited with code 130" });
    if (kind === "perl") assert.equal(await runner.check(request("kill -USR1 $$"), 5000), { ok: false, why: "it was killed by SIGUSR1" });
      const began = Date.now();
      const slow = await runner.check(request("sleep 30 & sleep 30"), 300);
      assert.equal(slow, { ok: false, why: "it did not finish within 0.3 s" });
      assert.ok(Date.now() - began < 10_000);
    } finally {
      runner.close();
    }
  });
}

// The Perl runner also reads the start time and writes the PID file, beside procman.
test("perl: the start time and PID file come with the PID; arguments arrive byte for byte; no descriptor leaks", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    const args = ["", "two words", "new\nline", "quote ' \" $HOME `x` \\", "ünïcödé", "-- =x"];
    const script = 'for a in "$@"; do printf "[%s]" "$a"; done; printf "\\nFDS \\n"; exec sleep 30';
    const pidFile = path.join(dir, "p.pid");
    const spawned = await runner.spawn({ argv: ["/bin/sh", "-c", script, "sh", ...args], environment: { PATH: "/usr/bin:/bin", "ODD": "a=b\nc" }, directory: dir, umask: undefined, logFd: fd, pidFile });
    closeSync(fd);
    assert.is(spawned.pidFileError, undefined);
    assert.is(readFileSync(pidFile, "utf8"), `${spawned.pid}\n`);
    assert.is(spawned.startTime, readProcStat(spawned.pid)?.startTime, "the start time /proc gives");
    const log = await waitFor(() => {
      const text = readFileSync(path.join(dir, "log"), "utf8");
      return /\nFDS .*\n$/.test(text) ? text : undefined;
    }, 10_000, "the child's output");
    assert.is(log.split("\nFDS ")[0], args.map((arg) => `[${arg}]`).join(""));
    // 0, 1, 2, and nothing of the runner's (its pipes, the log's descriptor): a descriptor above 2
    // can only be one this test process inherited itself from whoever started it.
    const fds = await waitFor(() => (readFileSync(`/proc/${spawned.pid}/cmdline`, "latin1").startsWith("sleep") ? readdirSync(`/proc/${spawned.pid}/fd`) : undefined), 10_000, "exec'd");
    for (const entry of fds.filter((entry) => Number(entry) > 2)) {
      assert.is(readlinkSync(`/proc/${spawned.pid}/fd/${entry}`), readlinkSync(`/proc/self/fd/${entry}`), `descriptor ${entry} is the runner's`);
    }
    // sh adds PWD to what it execs; everything else is exactly what was asked.
    const env = readFileSync(`/proc/${spawned.pid}/environ`, "latin1").split("\0").filter((entry) => entry !== "" && !entry.startsWith("PWD="));
    assert.equal(env.sort(), ["ODD=a=b\nc", "PATH=/usr/bin:/bin"]);
    process.kill(spawned.pid, "SIGKILL");
  } finally {
    runner.close();
  }
});

test("perl: a PID file it cannot write is reported with its errno, and no temp file stays", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    const missing = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile: path.join(dir, "no", "p.pid") });
    assert.is(missing.pidFileError, "ENOENT");
    // A directory where the PID file goes: the rename fails, the temp file is removed.
    mkdirSync(path.join(dir, "p.pid"));
    const blocked = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile: path.join(dir, "p.pid") });
    assert.is(blocked.pidFileError, "EISDIR");
    assert.equal(readdirSync(dir).sort(), ["log", "p.pid"]);
  } finally {
    closeSync(fd);
    runner.close();
  }
});

test("perl, reaping (the supervisor's runner): each exit is reported as it happens, an immediate one too", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl", reap: true });
  try {
    const spawn = (argv: string[]) => runner.spawn({ argv, environment: {}, directory: "/", umask: undefined, logFd: fd });
    // Exits before its PID reaches procman, possibly: the exit must still be the one of this PID.
    const quick = await spawn(["/bin/sh", "-c", "exit 5"]);
    const long = await spawn(["/bin/sleep", "30"]);
    assert.equal(await runner.exitOf(quick.pid, quick.startTime ?? ""), { code: 5, signal: null });
    process.kill(long.pid, "SIGTERM");
    assert.equal(await runner.exitOf(long.pid, long.startTime ?? ""), { code: null, signal: "SIGTERM" });
    // Reaped: no zombie stays behind.
    assert.is(readProcStat(quick.pid)?.startTime === quick.startTime ? readProcStat(quick.pid)?.state : "gone", "gone");
  } finally {
    closeSync(fd);
    runner.close();
  }
});

test.run();
