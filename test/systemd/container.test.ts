// The container helper itself: a boot leaves nothing behind once torn down, an aborted run (the
// test process killed) leaves no container and its cgroups are swept, and a missing tool skips
// (or fails in CI).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { bootContainer, canBootContainer, cgroupsOf, sweepStaleContainers } from "../helpers/nspawn.js";
import { waitFor } from "./support.js";

const test = suite("systemd: the test container");

/** Alive and not a zombie (a zombie is gone: it only waits to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

test("boot, run a command inside, tear down: no nspawn, no container PID 1, no cgroup left", async () => {
  if (!canBootContainer("container boot")) return;
  const container = await bootContainer();
  try {
    assert.is((await container.mustExec(["hostname"])).trim(), container.name);
    assert.is((await container.mustExec(["cat", "/proc/1/comm"])).trim(), "systemd", "PID 1 inside is systemd");
    assert.ok(cgroupsOf(container.name).length > 0, "the container has cgroups of its own");
  } finally {
    await container.teardown();
  }
  assert.not.ok(alive(container.nspawnPid), "nspawn is gone");
  assert.not.ok(alive(container.leader), "the container's systemd is gone");
  assert.equal(cgroupsOf(container.name), []);
  await container.teardown(); // idempotent
});

test("an aborted run: killing the test process halts its container; the next sweep removes its cgroups", async () => {
  if (!canBootContainer("aborted container")) return;
  const script = new URL("./fixtures/boot-and-wait.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
  let line = "";
  const booted = await new Promise<{ name: string; nspawnPid: number; leader: number }>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      line += chunk;
      if (line.includes("\n")) resolve(JSON.parse(line.split("\n")[0]!));
    });
    child.once("exit", (code) => reject(new Error(`the booting process exited (${code}) before it booted`)));
  });
  child.kill("SIGKILL");
  await waitFor("the orphaned nspawn and its systemd to exit", async () => !alive(booted.nspawnPid) && !alive(booted.leader), 30_000);
  sweepStaleContainers();
  assert.equal(cgroupsOf(booted.name), [], "the stale container's cgroups are removed");
});

test("without systemd-nspawn: a skip that says so, and a failure under CI=true", () => {
  const messages: string[] = [];
  const options = { searchPath: "/nonexistent", log: (message: string) => messages.push(message) };
  assert.is(canBootContainer("t", { ...options, env: {} }), false);
  assert.match(messages.join("\n"), "SKIP t: systemd-nspawn is not on PATH");
  assert.throws(() => canBootContainer("t", { ...options, env: { CI: "true" } }), /systemd-nspawn is required in CI/);
});

test("not root: a skip that says so, and a failure under CI=true", () => {
  const messages: string[] = [];
  const path = process.env.PATH ?? "";
  const options = { uid: 1000, log: (message: string) => messages.push(message) };
  if (!canBootContainer("probe", { env: { PATH: path }, log: () => {}, uid: 0 })) return; // the tools are missing: covered above
  assert.is(canBootContainer("t", { ...options, env: { PATH: path } }), false);
  assert.match(messages.join("\n"), "SKIP t: booting a systemd-nspawn container needs root");
  assert.throws(() => canBootContainer("t", { ...options, env: { PATH: path, CI: "true" } }), /needs root/);
});

test.run();
