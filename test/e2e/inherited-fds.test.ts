// A descriptor procman inherited (a shell's `20<secret`) reaches none of its services, on each way
// procman spawns one — its Perl runner, Node's own spawn (a notify readiness descriptor), the
// supervisor's runner — nor the supervisor itself. Build first: `npx tsc -p .`.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BIN, checkBuild, show, type CliRun } from "../helpers/cli.js";
import { NODE, lineIn, writeJson } from "../helpers/processes.js";
import { scenario } from "../helpers/scenario.js";

/**
 * `procman ...args` with `fd` open as its descriptor 20 (not close-on-exec: dup2 clears the flag).
 * Not a low one: Node itself sets close-on-exec on an inherited descriptor 7 at its start.
 */
function withDescriptor20(args: readonly string[], fd: number): Promise<CliRun> {
  checkBuild();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/nonexistent", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe", ...Array.from({ length: 17 }, () => "ignore" as const), fd],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every descriptor of `pid` that names `file`. */
function descriptorsOn(pid: number, file: string): string[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

test("an inherited descriptor reaches no service and not the supervisor", async () => {
  await scenario(async (dir, files) => {
    const secret = path.join(files, "secret");
    writeFileSync(secret, "root only\n", { mode: 0o600 });
    // Each says whether it has a descriptor 20 (the shell's own /proc entry: $$), then stays.
    const look = (name: string) => `if [ -e /proc/$$/fd/20 ]; then echo leaked > ${path.join(files, name)}; else echo clean > ${path.join(files, name)}; fi`;
    const model = writeJson(path.join(files, "m.json"), {
      runner: { process: "/bin/sh", args: ["-c", `${look("runner")}; exec sleep 1000`], restart: "no" },
      notified: { process: "/bin/sh", args: ["-c", `${look("notified")}; echo ready >&4; exec sleep 1000`], restart: "no", readiness: { notify: 4 } },
      supervised: { process: "/bin/sh", args: ["-c", `${look("supervised")}; exec sleep 1000`], restart: "always" },
    });
    const fd = openSync(secret, "r");
    try {
      const result = await withDescriptor20(["switch", model, "--state-dir", dir], fd);
      assert.is(result.code, 0, show(result));
    } finally {
      closeSync(fd);
    }
    for (const name of ["runner", "notified", "supervised"]) assert.is(await lineIn(path.join(files, name)), "clean", `${name} got procman's descriptor 20`);
    const supervisor = (JSON.parse(readFileSync(path.join(dir, "lib", "procman", "supervisor.pid"), "utf8")) as { pid: number }).pid;
    assert.ok(supervisor > 0, "a supervisor runs");
    assert.equal(descriptorsOn(supervisor, secret), [], "the supervisor holds the secret open");
  });
});

test.run();
