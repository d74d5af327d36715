// The shell that forks a command's starts must make what procman's own spawn makes: a session of
// its own, exactly the environment, no signal ignored or blocked, stdin /dev/null, the log procman
// opened, the umask and directory; and it must tell how a child ended.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../src/executor/proc.js";
import { perlCheckLine, perlRunnerArgs, perlSpawnLine } from "../../src/executor/perl-runner.js";
import { SpawnRunner, type RunnerKind, type Spawned } from "../../src/executor/spawn-runner.js";
import { ROOT } from "../helpers/paths.js";
import { untilAsleep, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { haveTool } from "../helpers/tools.js";

/** How the runner's PID file came out: at once, or once written after the batch's forks. */
async function pidFileOutcome(spawned: Spawned): Promise<string | undefined> {
  return spawned.pidFileError ?? (await spawned.pidFileWritten);
}

/**
 * A log for the runner's starts (fd) and a FIFO nobody reads (blocker, opened O_PATH: neither a
 * reader nor a writer): a start given it as its log waits at the runner's open until release().
 */
function fifoLogs(): { fd: number; blocker: number; release: () => void; close: () => void } {
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const fifo = path.join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  const blocker = openSync(fifo, 0o10000000);
  let reader: number | undefined;
  const release = () => void (reader ??= openSync(fifo, "r+"));
  return { fd, blocker, release, close: () => { release(); for (const each of [blocker, reader!, fd]) closeSync(each); } };
}

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

  test(`${kind}: a stopped runner is ended: a start waiting for it fails instead of waiting forever`, async () => {
    const dir = makeTempDir();
    const fd = openSync(path.join(dir, "log"), "a");
    const runner = new SpawnRunner({ kind });
    const pid = (runner as unknown as { child: { pid: number } }).child.pid;
    try {
      await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd });
      process.kill(pid, "SIGSTOP");
      await waitFor(() => readProcStat(pid)?.state === "T" || undefined, 5000, "the runner stopped");
      const start = runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd });
      const outcome = await Promise.race([start.then(() => "started", (error: Error) => error.message), new Promise((resolve) => setTimeout(resolve, 10_000, "still waiting"))]);
      assert.match(String(outcome), "stopped");
      await waitFor(() => readProcStat(pid) === undefined || readProcStat(pid)?.state === "Z" || undefined, 5000, "the runner ended");
    } finally {
      if (readProcStat(pid)?.state === "T") process.kill(pid, "SIGKILL");
      closeSync(fd);
      runner.close();
    }
  });

  // procman's CLI has nothing else alive while it waits for a start: the runner's end must still
  // settle it (before, the event loop emptied first and procman exited 0 in the middle of a switch).
  test(`${kind}: a runner stopped with a start pending fails that start even with nothing else keeping Node alive`, () => {
    const dir = makeTempDir();
    const script = path.join(dir, "stopped.mts");
    writeFileSync(
      script,
      [
        'import { openSync } from "node:fs";',
        `import { readProcStat } from ${JSON.stringify(path.join(ROOT, "src", "executor", "proc.ts"))};`,
        `import { SpawnRunner } from ${JSON.stringify(path.join(ROOT, "src", "executor", "spawn-runner.ts"))};`,
        `const runner = new SpawnRunner({ kind: ${JSON.stringify(kind)} });`,
        "const pid = runner.child.pid;",
        `const fd = openSync(${JSON.stringify(path.join(dir, "log"))}, "a");`,
        'const request = { argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd };',
        "await runner.spawn(request);",
        'process.kill(pid, "SIGSTOP");',
        'while (readProcStat(pid)?.state !== "T") await new Promise((resolve) => setTimeout(resolve, 5));',
        'try { await runner.spawn(request); console.log("started"); } catch (error) { console.log(`failed: ${error.message}`); }',
        "",
      ].join("\n"),
    );
    const result = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.is(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^failed: .*stopped/);
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

// A Perl runner killed between creating a PID file's temp file and its rename leaves the temp
// file. Which instant a kill hits cannot be chosen: here the runner is stopped before it reads the
// request, and the temp file it would have left is put there by hand; the one of another owner and
// the PID file's own name are not procman's to remove.
test("perl: a runner that ends with a PID file pending leaves no temp file of this procman's behind", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  const pid = (runner as unknown as { child: { pid: number } }).child.pid;
  const pidFile = path.join(dir, "web.pid");
  const ours = `.web.pid.${process.pid}.0123456789abcdef.tmp`;
  const others = [`.web.pid.${process.pid + 1}.0123456789abcdef.tmp`, `.web.pid.${process.pid}.notours.tmp`];
  try {
    await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    process.kill(pid, "SIGSTOP");
    await waitFor(() => readProcStat(pid)?.state === "T" || undefined, 5000, "the runner stopped");
    for (const name of [ours, ...others]) writeFileSync(path.join(dir, name), "1\n");
    const start = runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile });
    const outcome = await Promise.race([start.then(() => "started", (error: Error) => error.message), new Promise((resolve) => setTimeout(resolve, 10_000, "still waiting"))]);
    assert.match(String(outcome), "stopped");
    const left = readdirSync(dir).sort();
    assert.not.ok(left.includes(ours), "this procman's temp file is removed");
    for (const name of others) assert.ok(left.includes(name), `${name} stays`);
    assert.not.ok(left.includes("web.pid"));
  } finally {
    if (readProcStat(pid)?.state === "T") process.kill(pid, "SIGKILL");
    closeSync(fd);
    runner.close();
  }
});

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
    assert.is(await pidFileOutcome(spawned), undefined);
    assert.is(readFileSync(pidFile, "utf8"), `${spawned.pid}\n`);
    assert.is(spawned.startTime, readProcStat(spawned.pid)?.startTime, "the start time /proc gives");
    const log = await waitFor(() => {
      const text = readFileSync(path.join(dir, "log"), "utf8");
      return /\nFDS .*\n$/.test(text) ? text : undefined;
    }, 10_000, "the child's output");
    assert.is(log.split("\nFDS ")[0], args.map((arg) => `[${arg}]`).join(""));
    // 0, 1, 2, and nothing of the runner's (its pipes, the log's descriptor): a descriptor above 2
    // can only be one this test process inherited itself from whoever started it.
    await untilAsleep(spawned.pid);
    const fds = readdirSync(`/proc/${spawned.pid}/fd`);
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
    assert.is(await pidFileOutcome(missing), "ENOENT");
    // A directory where the PID file goes: the rename fails, the temp file is removed.
    mkdirSync(path.join(dir, "p.pid"));
    const blocked = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile: path.join(dir, "p.pid") });
    assert.is(await pidFileOutcome(blocked), "EISDIR");
    assert.equal(readdirSync(dir).sort(), ["log", "p.pid"]);
  } finally {
    closeSync(fd);
    runner.close();
  }
});

// A service can plant things where its PID file goes: the runner replaces them, never writes
// through a link, never blocks on a FIFO, and leaves no temp file behind.
test("perl: a symlink or FIFO planted at the PID file is replaced, not written through", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    const victim = path.join(dir, "victim");
    writeFileSync(victim, "keep\n");
    symlinkSync(victim, path.join(dir, "link.pid"));
    execFileSync("mkfifo", [path.join(dir, "fifo.pid")]);
    for (const name of ["link.pid", "fifo.pid"]) {
      const pidFile = path.join(dir, name);
      const spawned = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile });
      assert.is(await pidFileOutcome(spawned), undefined, name);
      assert.ok(lstatSync(pidFile).isFile(), `${name} is a file now`);
      assert.is(readFileSync(pidFile, "utf8"), `${spawned.pid}\n`);
    }
    assert.is(readFileSync(victim, "utf8"), "keep\n", "the link's target untouched");
    assert.equal(readdirSync(dir).sort(), ["fifo.pid", "link.pid", "log", "victim"]);
  } finally {
    closeSync(fd);
    runner.close();
  }
});

// A full disk: the errno comes back (ENOSPC), the temp file goes. Needs a small tmpfs of its own.
test("perl: a full disk is reported as ENOSPC and leaves no temp file", async () => {
  if (!kinds.includes("perl")) return;
  const mount = makeTempDir();
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", mount], { stdio: "ignore" });
  } catch {
    console.log("  SKIP perl: a full disk: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
    return;
  }
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    // Filled until not one more byte fits (a file can still be created: the write fails).
    try {
      for (let i = 0; i < 100; i++) writeFileSync(path.join(mount, `fill${i}`), "x".repeat(4096));
    } catch {
      // full
    }
    const before = readdirSync(mount).sort();
    const spawned = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd, pidFile: path.join(mount, "p.pid") });
    assert.is(await pidFileOutcome(spawned), "ENOSPC");
    assert.equal(readdirSync(mount).sort(), before, "no temp file, no PID file");
  } finally {
    closeSync(fd);
    runner.close();
    execFileSync("umount", [mount]);
  }
});

// Its identity is read right after the fork, whatever the child execs: a comm with ")" and a
// newline (a hostile program's name) must not shift the fields.
test("perl: the start time is the child's, also for a program named with ')' and a newline, and one that exits at once", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    const odd = path.join(dir, "x) Z 1 1\n(y");
    symlinkSync("/bin/sleep", odd);
    const long = await runner.spawn({ argv: [odd, "30"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    await waitFor(() => readFileSync(`/proc/${long.pid}/stat`, "latin1").includes("\n(y)") || undefined, 10_000, "exec'd under its odd name");
    assert.is(long.startTime, readProcStat(long.pid)?.startTime);
    assert.is(long.dead, undefined);
    process.kill(long.pid, "SIGKILL");
    assert.equal(await runner.exitOf(long.pid, long.startTime!), { code: null, signal: "SIGKILL" });
    const quick = await runner.spawn({ argv: ["/bin/sh", "-c", "exit 7"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    assert.ok(quick.startTime !== undefined && /^[0-9]+$/.test(quick.startTime), `a start time: ${quick.startTime}`);
    assert.equal(await runner.exitOf(quick.pid, quick.startTime), { code: 7, signal: null });
  } finally {
    closeSync(fd);
    runner.close();
  }
});

test("perl: the runner's own environment is empty (nothing of procman's: PERL5OPT, PERL5LIB, PERLIO)", async () => {
  if (!kinds.includes("perl")) return;
  const saved = { ...process.env };
  Object.assign(process.env, { PERL5OPT: "-Mwarnings", PERL5LIB: "/nonexistent", PERLIO: ":crlf" });
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    const pid = (runner as unknown as { child: { pid: number } }).child.pid;
    assert.is(readFileSync(`/proc/${pid}/environ`, "latin1"), "");
  } finally {
    for (const key of ["PERL5OPT", "PERL5LIB", "PERLIO"]) if (saved[key] === undefined) delete process.env[key];
    runner.close();
  }
});

// The Perl runner gone (killed, or ended because it was stopped) while a check runs: nobody will
// report the check's end, and its timeout is given up; a hung check must not stay behind. (The sh
// runner's check is waited for by a subshell that outlives it: its answer and timeout still come.)
test("perl: a check under way when the runner is killed is ended with it, not left running", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const runner = new SpawnRunner({ kind: "perl" });
  const runnerPid = (runner as unknown as { child: { pid: number } }).child.pid;
  const marker = `hung-check-${process.pid}`;
  const hung = () =>
    readdirSync("/proc")
      .filter((entry) => /^[0-9]+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, "latin1").includes(`MARK=${marker}`) && readProcStat(Number(pid))?.state !== "Z";
        } catch {
          return false;
        }
      });
  try {
    const check = runner.check({ argv: ["/bin/sh", "-c", "sleep 300 & sleep 300"], environment: { PATH: "/usr/bin:/bin", MARK: marker }, directory: dir, umask: undefined }, 120_000);
    const outcome = check.then((v) => `answered ${JSON.stringify(v)}`, () => "rejected");
    await waitFor(() => hung().length >= 2 || undefined, 10_000, "the check and its background job running");
    process.kill(runnerPid, "SIGKILL");
    assert.is(await outcome, "rejected");
    await waitFor(() => hung().length === 0 || undefined, 10_000, "the check's group ended");
  } finally {
    for (const pid of hung()) process.kill(Number(pid), "SIGKILL");
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

// A batch's starts are answered together, but never more than 16 forks late (why: perl-runner.ts).
// Start 17 of 40 opens a FIFO nobody reads as its log, which blocks the runner right there: the
// first 16 must be answered all the same.
for (const reap of [false, true]) {
  test(`perl${reap ? ", reaping" : ""}: a start is answered before the runner forks 16 more`, async () => {
    if (!kinds.includes("perl")) return;
    const { fd, blocker, release, close } = fifoLogs();
    const runner = new SpawnRunner({ kind: "perl", reap });
    const pids: number[] = [];
    let starts: Promise<unknown>[] = [];
    try {
      const answered = new Set<number>();
      starts = Array.from({ length: 40 }, (_, index) =>
        runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: "/", umask: undefined, logFd: index === 16 ? blocker : fd }).then((spawned) => {
          answered.add(index);
          pids.push(spawned.pid);
          return spawned;
        }),
      );
      await waitFor(() => answered.size >= 16 || undefined, 10_000, "the first 16 starts answered while the 17th blocks the runner");
      assert.equal([...answered].sort((a, b) => a - b), [...Array(16).keys()], "exactly the 16 before the blocked one");
      release(); // a reader: the runner goes on
      await Promise.all(starts);
      assert.is(answered.size, 40);
    } finally {
      // Failed while the runner waits at the FIFO: let it go on, so that it and every child end.
      release();
      await Promise.race([Promise.allSettled(starts), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      for (const pid of pids) process.kill(pid, "SIGKILL");
      runner.close();
      close();
    }
  });
}

// The reaping runner's SIGCHLD handler runs whenever a child exits, also while the runner waits in
// a system call: a wait cut short by it (EINTR) must be taken up again, not fail the start under
// way. The start's log is a FIFO nobody reads (procman would refuse one as a log, but a slow open
// on any storage is cut short the same way); a child exits while the runner waits there.
test("perl, reaping: a child's exit while the runner waits to open a start's log does not fail that start", async () => {
  if (!kinds.includes("perl")) return;
  const { fd, blocker, release, close } = fifoLogs();
  const runner = new SpawnRunner({ kind: "perl", reap: true });
  const pids: number[] = [];
  let blocked: Promise<Spawned> | undefined;
  try {
    const first = await runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    pids.push(first.pid);
    blocked = runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: "/", umask: undefined, logFd: blocker });
    // The runner is the perl child of this process that waits for a partner at the FIFO.
    const runnerPid = await waitFor(() => {
      for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = readProcStat(Number(entry));
        if (stat?.ppid !== process.pid) continue;
        try {
          if (readFileSync(`/proc/${entry}/wchan`, "latin1") === "wait_for_partner") return Number(entry);
        } catch {
          // gone
        }
      }
      return undefined;
    }, 10_000, "the runner waiting at the FIFO");
    process.kill(first.pid, "SIGKILL");
    assert.equal(await runner.exitOf(first.pid, first.startTime ?? ""), { code: null, signal: "SIGKILL" }, "its exit is reported");
    assert.is(readFileSync(`/proc/${runnerPid}/wchan`, "latin1"), "wait_for_partner", "the runner waits at the FIFO again");
    release();
    const second = await blocked;
    pids.push(second.pid);
    assert.ok(second.pid > 0, "started");
  } finally {
    release();
    if (blocked !== undefined) await blocked.then((spawned) => pids.push(spawned.pid), () => undefined);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    runner.close();
    close();
  }
});

// procman killed while lines wait in the runner's pipe: nothing may start after its death. A dead
// procman whose parent has not reaped it yet is a zombie, and kill(zombie, 0) succeeds: the owner
// must be looked for as the runner's parent, not as a PID that answers signals.
test("perl: nothing is started once its procman died, even while procman is an unreaped zombie", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const go = path.join(dir, "go");
  const out = path.join(dir, "runner.out");
  // The "procman": starts the runner (stdout to a file, so no SIGPIPE ends it early), has it start
  // a child and then wait for that child (W), queues a check behind the W, and exits.
  const owner = String.raw`
    my ($script, $sline, $cline, $out) = @ARGV;
    open(my $log, '>>', '/dev/null') or die; die "log fd" unless fileno($log) == 3;
    pipe(my $r, my $w) or die;
    my $runner = fork();
    if (!$runner) { open(STDIN, '<&', $r) or die; open(STDOUT, '>', $out) or die; exec '/usr/bin/perl', '-e', $script, getppid(), '0'; die }
    close $r; $w->autoflush(1);
    my $read = sub { my $n = shift; for (1..2000) { open(my $f, '<', $out) or next; my @l = <$f>; return @l if @l >= $n; select(undef, undef, undef, 0.01) } die "no answer" };
    $read->(1);
    print $w "$sline\n";
    my @lines = $read->(2);
    my (undef, undef, $child) = split(/ /, $lines[1]);
    print $w "W 2 $child\n$cline\n";
    print STDOUT "$$ $runner\n";
    exit 0;`;
  const sline = perlSpawnLine(1, { argv: ["/bin/sh", "-c", `while [ ! -e '${go}' ]; do sleep 0.02; done`], environment: {}, directory: dir, umask: undefined, logFd: 3 });
  const cline = perlCheckLine(3, { argv: ["/bin/sh", "-c", "exit 0"], environment: {}, directory: dir, umask: undefined });
  // The owner's parent never reaps it: once dead, the owner stays a zombie.
  const holder = spawn("/usr/bin/perl", ["-e", "my $p = fork(); if (!$p) { exec @ARGV } sleep 120", "/usr/bin/perl", "-e", owner, perlRunnerArgs(0)[1]!, sline, cline, out], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    let text = "";
    holder.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const [ownerPid, runnerPid] = await waitFor(() => (text.includes("\n") ? text.trim().split(" ").map(Number) : undefined), 10_000, "the owner's report");
    await waitFor(() => readProcStat(ownerPid!)?.state === "Z" || undefined, 10_000, "the owner a zombie");
    writeFileSync(go, "");
    await waitFor(() => readProcStat(runnerPid!) === undefined || readProcStat(runnerPid!)?.state === "Z" || undefined, 10_000, "the runner gone");
    assert.not.match(readFileSync(out, "latin1"), /^C 3 /m, "a check was forked after its procman died");
  } finally {
    holder.kill("SIGKILL");
  }
});

// Its stdin closed (its parent ended it), the reaping runner exits: onGone is told, what waited is
// rejected, and its children live on (reparented; /proc tells of their deaths from then on).
test("perl, reaping: the runner's stdin closed: onGone is told, its children live on", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  let gone = false;
  const runner = new SpawnRunner({ kind: "perl", reap: true, onGone: () => (gone = true) });
  const runnerPid = (runner as unknown as { child: { pid: number } }).child.pid;
  try {
    const child = await runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    runner.close();
    await waitFor(() => gone || undefined, 10_000, "onGone");
    const after = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd }).then(() => "started", () => "rejected");
    assert.is(after, "rejected", "nothing starts through a runner that is gone");
    const stat = readProcStat(child.pid);
    assert.is(stat?.startTime, child.startTime, "the child still runs");
    assert.is.not(stat?.ppid, runnerPid);
    process.kill(child.pid, "SIGKILL");
  } finally {
    closeSync(fd);
  }
});

// A burst (one write of many lines): each child's output goes to its own log, and a reaping
// runner's children start as clean as the others (no signal ignored or blocked, stdin /dev/null).
for (const reap of [false, true]) {
  test(`perl${reap ? ", reaping" : ""}: a burst of starts: each child on its own log, nothing ignored or blocked`, async () => {
    if (!kinds.includes("perl")) return;
    const dir = makeTempDir();
    const runner = new SpawnRunner({ kind: "perl", reap });
    const logs = Array.from({ length: 20 }, (_, i) => path.join(dir, `log${i}`));
    const fds = logs.map((log) => openSync(log, "a"));
    const pids: number[] = [];
    try {
      const spawned = await Promise.all(fds.map((fd) => runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: dir, umask: "077", logFd: fd })));
      pids.push(...spawned.map((one) => one.pid));
      for (const [i, one] of spawned.entries()) {
        await untilAsleep(one.pid);
        await untilAsleep(spawned[0]!.pid);
        assert.is(readlinkSync(`/proc/${one.pid}/fd/1`), logs[i], `child ${i}'s stdout`);
        assert.is(readlinkSync(`/proc/${one.pid}/fd/2`), logs[i], `child ${i}'s stderr`);
        assert.is(readlinkSync(`/proc/${one.pid}/fd/0`), "/dev/null");
        assert.equal(readdirSync(`/proc/${one.pid}/fd`).sort(), readdirSync(`/proc/${spawned[0]!.pid}/fd`).sort(), "the same descriptors as its siblings");
        const fields = status(one.pid);
        assert.is(fields.SigIgn, "0000000000000000");
        assert.is(fields.SigBlk, "0000000000000000");
        assert.is(fields.Umask, "0077");
        assert.is(readProcStat(one.pid)?.session, one.pid);
      }
    } finally {
      for (const pid of pids) process.kill(pid, "SIGKILL");
      for (const fd of fds) closeSync(fd);
      runner.close();
    }
  });
}

// The directory: a symlink is followed (as spawn's cwd is); one that is gone by the time of the
// chdir (removed after procman checked it) is a child that says so in its log and exits 1.
test("perl: a symlinked directory is followed; a missing one fails the child with a message in its log", async () => {
  if (!kinds.includes("perl")) return;
  const dir = makeTempDir();
  const log = path.join(dir, "log");
  const fd = openSync(log, "a");
  const runner = new SpawnRunner({ kind: "perl" });
  try {
    mkdirSync(path.join(dir, "real"));
    symlinkSync(path.join(dir, "real"), path.join(dir, "link"));
    const linked = await runner.spawn({ argv: ["/bin/sleep", "30"], environment: {}, directory: path.join(dir, "link"), umask: undefined, logFd: fd });
    await waitFor(() => readFileSync(`/proc/${linked.pid}/cmdline`, "latin1").startsWith("/bin/sleep") || undefined, 10_000, "exec'd");
    assert.is(readlinkSync(`/proc/${linked.pid}/cwd`), path.join(dir, "real"));
    process.kill(linked.pid, "SIGKILL");
    const missing = await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: path.join(dir, "gone"), umask: undefined, logFd: fd });
    assert.equal(await runner.exitOf(missing.pid, missing.startTime!), { code: 1, signal: null });
    assert.match(readFileSync(log, "utf8"), `procman: cannot change to directory ${path.join(dir, "gone")}: No such file or directory`);
  } finally {
    closeSync(fd);
    runner.close();
  }
});

test.run();
