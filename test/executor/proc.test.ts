// /proc readings against real processes: odd command names, zombies, PID reuse by start time,
// process groups and environments.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  ancestorsOf,
  checkIdentity,
  groupHasLiveMembers,
  readUids,
  startedBefore,
  ticksNow,
  identityOf,
  isLive,
  listPids,
  readEnvironmentVariable,
  readProcStat,
} from "../../src/executor/proc.js";
import { makeTempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/processes.js";

const children: ChildProcess[] = [];
function start(command: string, args: string[], options: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const child = spawn(command, args, { stdio: "ignore", ...options });
  children.push(child);
  return child;
}
test.after.each(() => {
  for (const child of children.splice(0)) {
    try {
      // the whole group when it has its own
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  }
});

test("readProcStat parses a command name with spaces and parentheses", async () => {
  const dir = makeTempDir();
  const odd = path.join(dir, "a) (b c) d");
  symlinkSync("/bin/sleep", odd);
  const child = start(odd, ["100"], { detached: true });
  const stat = await waitFor(() => {
    const value = readProcStat(child.pid!);
    return value !== undefined && readFileSync(`/proc/${child.pid}/stat`, "latin1").includes("a) (b c) d") ? value : undefined;
  }, 5000, "the exec");
  assert.is(stat.pid, child.pid);
  assert.is(stat.state === "S" || stat.state === "R", true, stat.state);
  assert.is(stat.ppid, process.pid);
  assert.is(stat.pgrp, child.pid, "detached: its own group");
  assert.is(stat.session, child.pid, "detached: its own session");
  assert.match(stat.startTime, /^[0-9]+$/);
  // Field 22 by hand, to check the index.
  const text = readFileSync(`/proc/${child.pid}/stat`, "latin1");
  assert.is(stat.startTime, text.slice(text.lastIndexOf(")") + 2).split(" ")[19]);
  assert.ok(isLive(stat));
});

test("readProcStat: undefined for a PID that does not exist", () => {
  assert.is(readProcStat(2 ** 22 + 12345), undefined);
  assert.is(identityOf(2 ** 22 + 12345), undefined);
  assert.is(checkIdentity({ pid: 2 ** 22 + 12345, startTime: "1" }), "dead");
});

test("a zombie is not live, and its identity counts as dead although kill(pid, 0) succeeds", async () => {
  // The child is killed only once its parent is sh exec'ed into sleep 100, which never reaps it
  // (killed earlier, sh itself might reap it before its exec).
  const parent = start("/bin/sh", ["-c", "sleep 100 & echo $!; exec sleep 100"], { stdio: ["ignore", "pipe", "ignore"] });
  const zombie = await new Promise<number>((resolve) => parent.stdout!.once("data", (data) => resolve(Number(String(data).trim()))));
  await waitFor(() => readFileSync(`/proc/${parent.pid}/cmdline`, "latin1").startsWith("sleep\0") || undefined, 5000, "the parent exec'ed");
  process.kill(zombie, "SIGKILL");
  const stat = await waitFor(() => (readProcStat(zombie)?.state === "Z" ? readProcStat(zombie) : undefined), 5000, "the zombie");
  process.kill(zombie, 0); // does not throw: the PID exists
  assert.not.ok(isLive(stat));
  assert.is(checkIdentity({ pid: zombie, startTime: stat.startTime }), "dead");
  assert.is(identityOf(zombie), undefined);
});

test("checkIdentity: running with the right start time, reused with another", async () => {
  const child = start("sleep", ["100"]);
  const identity = await waitFor(() => identityOf(child.pid!), 5000);
  assert.is(checkIdentity(identity), "running");
  assert.is(checkIdentity({ pid: identity.pid, startTime: String(Number(identity.startTime) - 1) }), "reused");
  assert.is(checkIdentity({ pid: process.pid, startTime: identity.startTime }), "reused");
  child.kill("SIGKILL");
  await waitFor(() => checkIdentity(identity) === "dead", 5000, "the kill");
});

test("groupHasLiveMembers: true while a member lives, false once only zombies (or nothing) remain", async () => {
  // A group leader with one child; both in the leader's group.
  const leader = start("/bin/sh", ["-c", "sleep 100 & echo $!; wait"], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
  const member = await new Promise<number>((resolve) => leader.stdout!.once("data", (data) => resolve(Number(String(data).trim()))));
  assert.is(readProcStat(member)?.pgrp, leader.pid);
  assert.ok(groupHasLiveMembers(leader.pid!));
  process.kill(leader.pid!, "SIGKILL");
  await waitFor(() => !isLive(readProcStat(leader.pid!)), 5000, "the leader's death");
  // The member lives on in the group of a dead leader.
  await new Promise((resolve) => setTimeout(resolve, 15)); // past the 10 ms cache of the group scan
  assert.ok(groupHasLiveMembers(leader.pid!), "a live member keeps the group");
  process.kill(member, "SIGKILL");
  await waitFor(() => !groupHasLiveMembers(leader.pid!), 5000, "the empty group");
});

test("listPids includes this process and PID 1", () => {
  const pids = listPids();
  assert.ok(pids.includes(process.pid));
  assert.ok(pids.includes(1));
  assert.ok(pids.every((pid) => Number.isInteger(pid) && pid > 0));
});

test("readEnvironmentVariable reads one exact variable, with odd values, not a prefix match", async () => {
  const value = "a b=c; $x \t ünï €";
  const child = start("sleep", ["100"], { env: { PROCMAN_TAG_X: "wrong", PROCMAN_TAG: value, OTHER: "1" } });
  await waitFor(() => readEnvironmentVariable(child.pid!, "OTHER") === "1", 5000, "the exec");
  // UTF-8, as it was written: a state dir named "ünï" must still match its tag.
  assert.is(readEnvironmentVariable(child.pid!, "PROCMAN_TAG"), value);
  assert.is(readEnvironmentVariable(child.pid!, "PROCMAN"), undefined);
  assert.is(readEnvironmentVariable(child.pid!, "MISSING"), undefined);
  assert.is(readEnvironmentVariable(2 ** 22 + 12345, "PATH"), undefined);
});

test("checkIdentity: paused for a process stopped by SIGSTOP, running again after SIGCONT", async () => {
  const child = start("sleep", ["100"], { detached: true });
  const identity = await waitFor(() => identityOf(child.pid!), 5000);
  process.kill(child.pid!, "SIGSTOP");
  await waitFor(() => checkIdentity(identity) === "paused", 5000, "paused");
  process.kill(child.pid!, "SIGCONT");
  await waitFor(() => checkIdentity(identity) === "running", 5000, "running again");
});

test("ancestorsOf: procman's parent chain up to PID 1; readUids; ticksNow is not before a process just started", async () => {
  const ancestors = ancestorsOf(process.pid);
  assert.ok(ancestors.has(process.ppid));
  assert.ok(ancestors.has(1) || readProcStat(process.pid)!.ppid === 0, "the chain ends at PID 1");
  assert.not.ok(ancestors.has(process.pid));
  const uids = readUids(process.pid)!;
  assert.is(uids.real, process.getuid!());
  const child = start("sleep", ["100"]);
  const identity = await waitFor(() => identityOf(child.pid!), 5000);
  assert.not.ok(startedBefore(ticksNow(), identity.startTime), "now is before the child started");
  assert.ok(startedBefore("99", "100"), "numbers, not strings");
});

test.run();
