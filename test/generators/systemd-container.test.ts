// The systemd generator under a real systemd (PID 1 of a systemd-nspawn container,
// test/helpers/nspawn.ts): P-dirs.service creates stateDirectory and runtimeDirectory with their
// owner (a user without a group gets its primary group) and mode before any unit starts; a unit
// waiting on a readiness file ignores the one left from before; onFailure runs once the unit is
// failed. The units are installed as `generate`'s steps say: linked from where they were written.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as assert from "uvu/assert";
import { generateSystemd } from "../../generators/systemd.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { lineIn, stampIn } from "../helpers/processes.js";
import { TARGET, containerSuite, property, systemctl, unitOf } from "../systemd/support.js";
import { resolveFor, run, writeOutput } from "./hostile.js";

const { test, host } = containerSuite("systemd generator: directories, readiness file, onFailure");

test("P-dirs.service creates each process's directories with owner and mode before the units start; a stale readiness file does not count", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dir = path.join(host.scratch, "dirs");
  mkdirSync(dir, { recursive: true });
  // The services run as daemon and bin: they must be able to reach their directories.
  for (const open of [host.scratch, dir]) chmodSync(open, 0o755);
  const marks = path.join(dir, "marks");
  mkdirSync(marks, { mode: 0o777 });
  chmodSync(marks, 0o777);
  const ready = path.join(marks, "late.ready");
  const base = resolveFor(
    "systemd",
    {
      keeper: { process: "/bin/sh", args: ["-c", `id -u > '${marks}/keeper.uid'; exec sleep 1000`], user: "daemon", group: "daemon", restart: "no" },
      worker: { process: "/bin/sh", args: ["-c", "exec sleep 1000"], user: "bin", restart: "no" },
      // Ready only once it wrote its file, a second after its start.
      late: { process: "/bin/sh", args: ["-c", `sleep 1; date +%s%N > '${ready}'; exec sleep 1000`], restart: "no" },
      after: { process: "/bin/sh", args: ["-c", `date +%s%N > '${marks}/after.started'; exec sleep 1000`], activatesAfter: ["late"], restart: "no" },
    },
    dir,
  );
  const [keeper, worker, late, after] = base.processes as [ResolvedProcess, ResolvedProcess, ResolvedProcess, ResolvedProcess];
  const state = path.join(dir, "state");
  const keeperData = path.join(state, "lib", "keeper data 100%");
  const workerRun = path.join(state, "run", "worker");
  const model = {
    ...base,
    processes: [
      { ...keeper, stateDirectory: { path: keeperData, mode: "0750" } },
      { ...worker, runtimeDirectory: { path: workerRun, mode: "0700" } },
      { ...late, readiness: { kind: "file" as const, path: ready, timeout: 20, interval: 0.1 } },
      after,
    ],
  };
  const installDir = path.join(dir, "units");
  const output = generateSystemd(model, { installDir });
  writeOutput(output, installDir);
  // A readiness file left from an earlier run, and nothing of the state dir yet.
  writeFileSync(ready, "0\n");
  const units = output.files.filter((file) => /\.(service|target)$/.test(file.path)).map((file) => path.join(installDir, file.path));
  try {
    await container.mustExec(["systemctl", "link", ...units]);
    await container.mustExec(["systemctl", "daemon-reload"]);
    const start = await systemctl(container, "start", TARGET);
    assert.is(start.code, 0, start.stderr);
    for (const name of ["keeper", "worker", "late", "after"]) assert.is(await property(container, unitOf(name), "ActiveState"), "active", name);
    const id = (flag: string, user: string) => Number(run("id", [flag, user]).stdout.trim());
    const owner = (target: string) => {
      const info = lstatSync(target);
      return { dir: info.isDirectory(), uid: info.uid, gid: info.gid, mode: (info.mode & 0o777).toString(8) };
    };
    assert.equal(owner(keeperData), { dir: true, uid: id("-u", "daemon"), gid: id("-g", "daemon"), mode: "750" });
    assert.equal(owner(workerRun), { dir: true, uid: id("-u", "bin"), gid: id("-g", "bin"), mode: "700" }, "bin's primary group");
    assert.equal(lstatSync(path.join(state, "log")).uid, 0, "the log directory is the manager's");
    assert.is(await lineIn(path.join(marks, "keeper.uid")), String(id("-u", "daemon")));
    // after started once late wrote its file anew, not on the stale one.
    const readyAt = await stampIn(ready);
    assert.ok(readyAt > 0n, "late wrote its readiness file");
    assert.ok((await stampIn(path.join(marks, "after.started"))) > readyAt, "after started only once late was ready");

    // A link planted in place of worker's directory: tmpfiles refuses to follow it, nothing is chowned.
    await systemctl(container, "stop", unitOf("worker"));
    const victim = path.join(dir, "victim");
    mkdirSync(victim, { mode: 0o755 });
    run("rm", ["-rf", workerRun]);
    symlinkSync(victim, workerRun);
    await systemctl(container, "start", unitOf("worker"));
    assert.equal(owner(victim), { dir: true, uid: 0, gid: 0, mode: "755" });
  } finally {
    await systemctl(container, "stop", ...["after", "late", "worker", "keeper"].map((name) => unitOf(name)));
    await container.exec(["find", "/etc/systemd/system", "-maxdepth", "1", "-type", "l", "-lname", `${installDir}/*`, "-delete"]);
    await container.exec(["systemctl", "daemon-reload"]);
  }
});

test("onFailure runs once the unit is failed: once after the start limit, not on each restart; as the process's user, naming it", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dir = path.join(host.scratch, "onfailure");
  mkdirSync(dir, { recursive: true });
  chmodSync(host.scratch, 0o755);
  chmodSync(dir, 0o777);
  const told = path.join(dir, "told");
  const base = resolveFor(
    "systemd",
    {
      crasher: {
        process: "/bin/sh",
        args: ["-c", `echo run >> '${dir}/runs'; exit 3`],
        user: "daemon",
        // Two restarts allowed, 0.2 s apart: three runs, then failed.
        restart: { policy: "on-failure", delay: 0.2, limit: { burst: 2, interval: 60 } },
      },
    },
    dir,
  );
  const model = { ...base, processes: [{ ...base.processes[0]!, onFailure: `echo "$PROCMAN_PROCESS $PROCMAN_STATE $(id -un) $MONITOR_SERVICE_RESULT" >> '${told}'` }] };
  const installDir = path.join(dir, "units");
  const output = generateSystemd(model, { installDir });
  writeOutput(output, installDir);
  const units = output.files.filter((file) => /\.(service|target)$/.test(file.path)).map((file) => path.join(installDir, file.path));
  try {
    await container.mustExec(["systemctl", "link", ...units]);
    await container.mustExec(["systemctl", "daemon-reload"]);
    await systemctl(container, "start", unitOf("crasher"));
    const deadline = Date.now() + 20_000;
    while ((await property(container, unitOf("crasher"), "ActiveState")) !== "failed" || !existsSync(told)) {
      if (Date.now() > deadline) throw new Error(`crasher did not fail with onFailure run: ${await property(container, unitOf("crasher"), "ActiveState")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.is(readFileSync(path.join(dir, "runs"), "utf8"), "run\nrun\nrun\n", "the first start and two restarts");
    // Settled: the onFailure unit has finished and the unit stays failed.
    while ((await property(container, "procman-onfailure@crasher.service", "ActiveState")) === "activating") await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(readFileSync(told, "utf8"), "crasher failed daemon exit-code\n", "told once, by the snippet run as daemon");
  } finally {
    await systemctl(container, "stop", unitOf("crasher"));
    await container.exec(["systemctl", "reset-failed"]);
    await container.exec(["find", "/etc/systemd/system", "-maxdepth", "1", "-type", "l", "-lname", `${installDir}/*`, "-delete"]);
    await container.exec(["systemctl", "daemon-reload"]);
  }
});

test.run();
