// The shared stop poller: many waiters in one round, gone only when the process and (for a
// leader) every live member of its group are gone.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { waitGone } from "../../src/executor/gone-poller.js";
import { identityOf, type ProcessIdentity } from "../../src/executor/proc.js";
import { alive, killedAfterEach, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const spawned = killedAfterEach(test);

/** A shell leading its own group, with a background member whose PID it writes down. */
async function groupWithMember(): Promise<{ leader: ProcessIdentity; member: number }> {
  const dir = makeTempDir();
  const file = path.join(dir, "member.pid");
  const child = spawn("/bin/sh", ["-c", `sleep 1000 & echo $! > ${file}; wait`], { detached: true, stdio: "ignore" });
  spawned.push(child);
  await waitFor(() => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"), 5000, "the member");
  return { leader: identityOf(child.pid!)!, member: Number(readFileSync(file, "utf8")) };
}

test("50 waiters at once: each resolves true once its process is gone", async () => {
  const children = Array.from({ length: 50 }, () => {
    const child = spawn("/bin/sleep", ["1000"], { detached: true, stdio: "ignore" });
    spawned.push(child);
    return child;
  });
  const identities = await waitFor(() => {
    const all = children.map((child) => identityOf(child.pid!));
    return all.every((identity) => identity !== undefined) ? (all as ProcessIdentity[]) : undefined;
  }, 5000, "the sleeps");
  const waits = identities.map((identity) => waitGone(identity, true, 5000));
  for (const child of children) process.kill(-child.pid!, "SIGTERM");
  assert.equal(await Promise.all(waits), identities.map(() => true));
  for (const identity of identities) assert.not.ok(alive(identity.pid));
});

test("a dead leader whose group member lives is not gone; it is once the member is", async () => {
  const { leader, member } = await groupWithMember();
  process.kill(leader.pid, "SIGKILL");
  await waitFor(() => !alive(leader.pid), 5000, "the leader's death");
  assert.is(await waitGone(leader, true, 300), false, "a live member was ignored");
  assert.ok(alive(member));
  const wait = waitGone(leader, true, 5000);
  process.kill(member, "SIGKILL");
  assert.is(await wait, true);
});

test("without group, only the process counts; a deadline answers false", async () => {
  const { leader, member } = await groupWithMember();
  assert.is(await waitGone(leader, false, 50), false, "the leader still runs");
  process.kill(leader.pid, "SIGKILL");
  assert.is(await waitGone(leader, false, 5000), true);
  assert.ok(alive(member), "the member was never signalled");
});

test.run();
