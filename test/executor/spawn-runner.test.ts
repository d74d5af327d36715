// The shell that forks a command's starts must make what procman's own spawn makes: a session of
// its own, exactly the environment, no signal ignored or blocked, stdin /dev/null, the log procman
// opened, the umask and directory; and it must tell how a child ended.
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProcStat } from "../../src/executor/proc.js";
import { SpawnRunner } from "../../src/executor/spawn-runner.js";
import { waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

function status(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, "latin1")
      .split("\n")
      .map((line) => line.split(":\t") as [string, string]),
  );
}

test("a child of the runner is what spawn({ detached }) makes", async () => {
  const dir = makeTempDir();
  const log = path.join(dir, "out.log");
  const fd = openSync(log, "a");
  const runner = new SpawnRunner();
  const environment = { PATH: "/usr/bin:/bin", QUOTED: "it's \"here\"\nand $HOME `x`" };
  try {
    // A shell writes the output (it adds PWD to what it runs: the sleep below shows the environment).
    await runner.spawn({ argv: ["/bin/sh", "-c", 'echo "$QUOTED"; echo "cwd $(pwd)"'], environment, directory: dir, umask: "027", logFd: fd });
    const pid = await runner.spawn({ argv: ["sleep", "30"], environment, directory: dir, umask: "027", logFd: fd });
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
    const { readlinkSync } = await import("node:fs");
    assert.is(readlinkSync(`/proc/${pid}/fd/0`), "/dev/null");
    assert.is(readlinkSync(`/proc/${pid}/fd/1`), log);
    process.kill(pid, "SIGKILL");
    const exit = await runner.exitOf(pid, stat.startTime);
    assert.equal(exit, { code: null, signal: "SIGKILL" });
  } finally {
    runner.close();
  }
});

test("exit statuses: a zombie's, and one the shell reaped already", async () => {
  const runner = new SpawnRunner();
  const dir = makeTempDir();
  const fd = openSync(path.join(dir, "log"), "a");
  try {
    const quick = await runner.spawn({ argv: ["/bin/sh", "-c", "exit 3"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    // More forks make the shell reap what has exited: its status must still be known.
    for (let i = 0; i < 5; i++) await runner.spawn({ argv: ["/bin/true"], environment: {}, directory: "/", umask: undefined, logFd: fd });
    const startTime = readProcStat(quick)?.startTime ?? "";
    assert.equal(await runner.exitOf(quick, startTime), { code: 3, signal: null });
  } finally {
    closeSync(fd);
    runner.close();
  }
});

test("checks: exit 0, a failure's code, and a timeout that kills the check's group", async () => {
  const runner = new SpawnRunner();
  try {
    const request = (script: string) => ({ argv: ["/bin/sh", "-c", script], environment: { PATH: "/usr/bin:/bin" }, directory: "/", umask: undefined });
    assert.equal(await runner.check(request("test -d /"), 5000), { ok: true });
    assert.equal(await runner.check(request("exit 4"), 5000), { ok: false, why: "it exited with code 4" });
    const began = Date.now();
    const slow = await runner.check(request("sleep 30 & sleep 30"), 300);
    assert.equal(slow, { ok: false, why: "it did not finish within 0.3 s" });
    assert.ok(Date.now() - began < 10_000);
  } finally {
    runner.close();
  }
});

test.run();
