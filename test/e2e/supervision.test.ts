// Supervision through the CLI: switch starts the supervisor and spawns through it, a crash is
// restarted while its dependents keep running, --no-supervise opts out, a kill -9'd supervisor is
// replaced by the next switch without restarting anything, stop and a removing switch resurrect
// nothing, and procman up supervises in the foreground until Ctrl-C. Build first: `npx tsc -p .`.
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { show } from "../helpers/cli.js";
import { alive, indexOfEvent, readEvents, service, startProcman, tagged, waitFor, writeJson } from "../helpers/processes.js";
import { ok, run, scenario, statusJson } from "../helpers/scenario.js";

interface Status {
  generation: number | null;
  supervisor: { running: boolean; pid: number | null };
  processes: { name: string; state: string; pid: number | null; restarts: number; lastExit: { code: number | null; signal: string | null; reason: string } | null }[];
}

const status = (dir: string) => statusJson<Status>(dir);
const byName = (value: Status, name: string) => value.processes.find((entry) => entry.name === name)!;

/** db, and app after it; both restart on failure after 0.2 s. */
function model(files: string, events: string, extra: Record<string, unknown> = {}): string {
  const restart = { policy: "on-failure", delay: 0.2, maxDelay: 1 };
  return writeJson(path.join(files, "m.json"), {
    db: { ...service("db", events), restart },
    app: { ...service("app", events), activatesAfter: ["db"], restart },
    ...extra,
  });
}

test("a crash is restarted by the supervisor; its dependents keep running; status tells", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    ok(await run(["switch", model(files, events), "--state-dir", dir]));
    const first = await status(dir);
    assert.ok(first.supervisor.running, "a supervisor runs");
    const db = byName(first, "db").pid!;
    const app = byName(first, "app").pid!;
    process.kill(db, "SIGKILL");
    const after = await waitFor(async () => {
      const now = await status(dir);
      return byName(now, "db").state === "running" && byName(now, "db").pid !== db ? now : undefined;
    }, 20_000, "db to be restarted");
    assert.is(byName(after, "db").restarts, 1);
    assert.equal([byName(after, "db").lastExit?.signal, byName(after, "db").lastExit?.reason], ["SIGKILL", "signal"]);
    assert.is(byName(after, "app").pid, app, "the dependent kept running");
    assert.ok(alive(app));
  });
});

test("switch --no-supervise: no supervisor, a crash stays dead until the next switch", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const file = model(files, events);
    ok(await run(["switch", file, "--no-supervise", "--state-dir", dir]));
    const first = await status(dir);
    assert.is(first.supervisor.running, false);
    const db = byName(first, "db").pid!;
    process.kill(db, "SIGKILL");
    await waitFor(() => !alive(db), 5000, "db to die");
    // Nothing restarts it: the start events of db stay at one while app runs on.
    await waitFor(async () => byName(await status(dir), "db").state === "dead", 5000, "status to say dead");
    assert.is(readEvents(events).filter((event) => event.name === "db" && event.event === "start").length, 1);
    // A switch without the flag brings the supervisor back (and db, which died).
    ok(await run(["switch", file, "--state-dir", dir]));
    const again = await status(dir);
    assert.ok(again.supervisor.running);
    assert.is(byName(again, "db").state, "running");
  });
});

test("after kill -9 of the supervisor the processes run on, status says so, and the next switch adopts them without a restart", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const file = model(files, events);
    ok(await run(["switch", file, "--state-dir", dir]));
    const first = await status(dir);
    const supervisor = first.supervisor.pid!;
    process.kill(supervisor, "SIGKILL");
    await waitFor(() => !alive(supervisor), 5000, "the supervisor to die");
    const orphaned = await run(["status", "--json", "--state-dir", dir]);
    assert.is(orphaned.code, 1, show(orphaned));
    assert.equal((JSON.parse(orphaned.stdout) as Status).supervisor, { running: false, pid: null });
    for (const entry of first.processes) assert.ok(alive(entry.pid!), `${entry.name} survived its supervisor`);
    const again = ok(await run(["switch", file, "--state-dir", dir]));
    assert.match(again.stdout, "plan: stop 0, start 0, keep 2");
    const adopted = await status(dir);
    assert.ok(adopted.supervisor.running);
    assert.is.not(adopted.supervisor.pid, supervisor);
    for (const entry of first.processes) assert.is(byName(adopted, entry.name).pid, entry.pid, `${entry.name} was not restarted`);
    assert.is(readEvents(events).filter((event) => event.event === "start").length, 2);
  });
});

// A review found the supervisor of a state dir whose lib/procman was removed by hand running on
// for good: beside the supervisor of the next switch it would have read the same records.
test("lib/procman removed by hand: its supervisor ends (the processes run on); the next switch's supervisor is the only one", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const file = model(files, events);
    ok(await run(["switch", file, "--state-dir", dir]));
    const first = await status(dir);
    const supervisor = first.supervisor.pid!;
    rmSync(path.join(dir, "lib", "procman"), { recursive: true, force: true });
    await waitFor(() => !alive(supervisor), 10_000, "the supervisor to end");
    for (const entry of first.processes) assert.ok(alive(entry.pid!), `${entry.name} runs on`);
    assert.not.ok(existsSync(path.join(dir, "lib", "procman")), "it wrote nothing on its way out");
    // What runs on the state dir's tags goes before the plan starts the same names again.
    const second = ok(await run(["switch", file, "--state-dir", dir]));
    assert.match(second.stdout + second.stderr, "stopping db (PID");
    assert.match(second.stdout + second.stderr, "left running by a deployment whose records are gone");
    const again = await status(dir);
    assert.ok(again.supervisor.running);
    for (const entry of first.processes) assert.not.ok(alive(entry.pid!), `${entry.name}'s old instance was stopped by its tag`);
    assert.equal(again.processes.map((entry) => entry.state), ["running", "running"]);
  });
});

test("stop and a removing switch race a crash-looping process: nothing is resurrected", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const loop = { crashy: { foregroundProcess: "/bin/sh", args: ["-c", "sleep 0.3; exit 3"], restart: { policy: "always", delay: 0, limit: { burst: 1000, interval: 1 } } } };
    const withLoop = model(files, events, loop);
    ok(await run(["switch", withLoop, "--state-dir", dir]));
    // Let it crash and come back a few times.
    await waitFor(async () => (byName(await status(dir), "crashy").restarts >= 2 ? true : undefined), 20_000, "crashy to loop");
    ok(await run(["switch", model(files, events), "--state-dir", dir]));
    const afterRemove = tagged(dir).filter((entry) => entry.name === "crashy");
    // Give a supervisor that would resurrect it the chance (several of its restart delays).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(tagged(dir).filter((entry) => entry.name === "crashy"), afterRemove);
    assert.equal(afterRemove, []);
    ok(await run(["stop", "--state-dir", dir]));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(tagged(dir), [], "nothing came back after stop");
    assert.is((await status(dir)).supervisor.running, false);
  });
});

test("procman up: switch, stream the logs marked with names, Ctrl-C stops everything dependents first and exits 0", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const file = writeJson(path.join(files, "up.json"), {
      db: { foregroundProcess: "/bin/sh", args: ["-c", "echo db-says-hello; exec sleep 1000"] },
      app: { ...service("app", events), activatesAfter: ["db"] },
    });
    const up = startProcman(["up", file, "--state-dir", dir]);
    await waitFor(() => /^db +\| db-says-hello$/m.test(up.output()), 20_000, "db's line, marked with its name");
    await waitFor(() => indexOfEvent(readEvents(events), "app", "ready") >= 0, 20_000, "app to be ready");
    up.child.kill("SIGINT");
    const done = await up.done;
    assert.is(done.code, 0, `${done.stdout}\n${done.stderr}`);
    assert.ok(done.stdout.indexOf("stopping app") < done.stdout.indexOf("stopping db"), done.stdout);
    assert.equal(tagged(dir), []);
  });
});

test("procman up is the parent of what its switch starts: a clean exit stays down, a failing one is restarted with its code", async () => {
  await scenario(async (dir, files) => {
    const restart = { policy: "on-failure", delay: 0.2, maxDelay: 1 };
    // Each exits once a file the test creates appears: clean with 0, failing with 3.
    const exitOn = (name: string, code: number) => ({
      foregroundProcess: "/bin/sh",
      args: ["-c", `echo ${name}-up; while ! test -e ${files}/${name}.go; do sleep 0.05; done; rm -f ${files}/${name}.go; exit ${code}`],
      restart,
    });
    const file = writeJson(path.join(files, "exits.json"), { clean: exitOn("clean", 0), failing: exitOn("failing", 3) });
    const up = startProcman(["up", file, "--state-dir", dir]);
    try {
      await waitFor(() => /^failing +\| failing-up$/m.test(up.output()) && /^clean +\| clean-up$/m.test(up.output()), 20_000, "both processes' first line");
      await waitFor(async () => (await status(dir)).supervisor.running || undefined, 20_000, "up's supervisor");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(path.join(files, "clean.go"), "");
      writeFileSync(path.join(files, "failing.go"), "");
      const after = await waitFor(async () => {
        const now = await status(dir);
        const failing = byName(now, "failing");
        return failing.restarts === 1 && failing.state === "running" && byName(now, "clean").lastExit !== null ? now : undefined;
      }, 20_000, "failing to be restarted and clean's exit to be known");
      assert.equal(byName(after, "failing").lastExit && [byName(after, "failing").lastExit!.code, byName(after, "failing").lastExit!.reason], [3, "exit"]);
      assert.equal(byName(after, "clean").lastExit && [byName(after, "clean").lastExit!.code, byName(after, "clean").lastExit!.reason], [0, "exit"]);
      assert.is(byName(after, "clean").restarts, 0, "a clean exit is no failure: not restarted");
      assert.is(after.supervisor.pid, up.child.pid, "procman up itself supervises");
    } finally {
      up.child.kill("SIGINT");
    }
    const done = await up.done;
    assert.is(done.code, 0, `${done.stdout}\n${done.stderr}`);
    assert.equal(tagged(dir), []);
  });
});

test("procman up: SIGTERM during the first switch undoes it and exits 143", async () => {
  await scenario(async (dir, files) => {
    const events = path.join(files, "events.jsonl");
    const file = writeJson(path.join(files, "hang.json"), {
      a: service("a", events),
      slow: { ...service("slow", events), activatesAfter: ["a"], readiness: { command: `test -e ${files}/never`, timeout: 60 } },
    });
    const up = startProcman(["up", file, "--state-dir", dir]);
    await waitFor(() => indexOfEvent(readEvents(events), "slow", "start") >= 0, 20_000, "slow to start");
    up.child.kill("SIGTERM");
    const done = await up.done;
    assert.is(done.code, 143, `${done.stdout}\n${done.stderr}`);
    assert.equal(tagged(dir), []);
  });
});

test.run();
