// What the supervisor decides as a command hands over to it is part of that command's report: a
// process that died during the command shows up in `--json` as backoff (or restarting) or, at its
// start limit, failed from the supervisor, before "done", and the command still exits 0. The deaths
// are ordered by files the processes write, never by time: `a` exits once `b` has started, and `b`
// becomes ready only once `a` is gone (reaped by the supervisor, whose child it is), so the
// transaction's own checks of `a` are over and the exit is recorded before the hand-over.
// Build first: `npx tsc -p .`.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { show } from "../helpers/cli.js";
import { waitFor, writeJson } from "../helpers/processes.js";
import { ok, run, scenario, statusJson } from "../helpers/scenario.js";

interface Status {
  processes: { name: string; state: string; pid: number | null; restarts: number }[];
}

interface JsonEvent {
  readonly type: string;
  readonly source?: string;
  readonly name?: string;
  readonly [field: string]: unknown;
}

const SUPERVISOR_TYPES = ["restarting", "backoff", "unhealthy"];

function jsonEvents(stdout: string): JsonEvent[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as JsonEvent);
}

function supervisorEvents(events: readonly JsonEvent[]): JsonEvent[] {
  return events.filter((event) => event.source === "supervisor" || SUPERVISOR_TYPES.includes(event.type));
}

/**
 * `a` (restarted on failure after `delay` s, at most once a minute) exits 3 once its n-th run sees
 * `b`'s n-th start; `b` (after `a`) is ready once the PID `a` last wrote is gone.
 */
function model(files: string, delay: number): string {
  const f = (name: string) => path.join(files, name);
  const a = [
    `n=$(( $(cat ${f("a.count")} 2>/dev/null || echo 0) + 1 )); echo $n > ${f("a.count")}`,
    `echo $$ > ${f("a.pid.tmp")} && mv ${f("a.pid.tmp")} ${f("a.pid")}`,
    `while [ ! -e ${f("b-started")}-$n ]; do sleep 0.02; done`,
    "exit 3",
  ].join("\n");
  const b = [`n=$(( $(cat ${f("b.count")} 2>/dev/null || echo 0) + 1 )); echo $n > ${f("b.count")}`, `touch ${f("b-started")}-$n`, "exec sleep 1000"].join("\n");
  return writeJson(f("m.json"), {
    a: {
      foregroundProcess: "/bin/sh",
      args: ["-c", a],
      readiness: { command: `test -s ${f("a.pid")}` },
      restart: { policy: "on-failure", delay, maxDelay: 5, limit: { burst: 1, interval: 60 } },
    },
    b: {
      foregroundProcess: "/bin/sh",
      args: ["-c", b],
      activatesAfter: ["a"],
      readiness: { command: `p=$(cat ${f("a.pid")}) && [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null` },
      restart: "no",
    },
  });
}

/** `a` runs again (restarted by the supervisor) and has written its PID. */
async function aRestarted(dir: string, files: string): Promise<void> {
  await waitFor(async () => {
    const a = (await statusJson<Status>(dir)).processes.find((entry) => entry.name === "a")!;
    const written = existsSync(path.join(files, "a.pid")) ? Number(readFileSync(path.join(files, "a.pid"), "utf8")) : 0;
    return a.state === "running" && a.restarts === 1 && a.pid === written ? true : undefined;
  }, 20_000, "a to be restarted by the supervisor");
}

test("switch --json: a process that died during the switch is in backoff before done; its start limit reached during restart NAME is the supervisor's failed", async () => {
  await scenario(async (dir, files) => {
    const file = model(files, 0.3);
    const switched = ok(await run(["switch", file, "--json", "--state-dir", dir]));
    const events = jsonEvents(switched.stdout);
    const types = events.map((event) => event.type);
    assert.equal(supervisorEvents(events).map((event) => event.type), ["backoff"], show(switched));
    const backoff = events.find((event) => event.type === "backoff")!;
    assert.equal(Object.keys(backoff).sort(), ["delayMs", "name", "nextRestartAt", "source", "type"]);
    assert.equal([backoff.name, backoff.source, backoff.delayMs], ["a", "supervisor", 300]);
    assert.ok(Number.isFinite(Date.parse(String(backoff.nextRestartAt))), String(backoff.nextRestartAt));
    assert.ok(types.indexOf("ready") < types.indexOf("backoff") && types.indexOf("backoff") === types.length - 2, types.join(" "));
    assert.is(types.at(-1), "done");
    assert.is(types.includes("failed"), false, "the switch itself failed nothing");

    // The supervisor restarts it (after the switch); its second death, during `restart b`, is one
    // restart within the minute too many.
    await aRestarted(dir, files);
    const restarted = ok(await run(["restart", "b", "--json", "--state-dir", dir]));
    const later = jsonEvents(restarted.stdout);
    const decided = supervisorEvents(later);
    assert.equal(decided.map((event) => [event.type, event.source, event.name]), [["failed", "supervisor", "a"]], show(restarted));
    assert.equal(Object.keys(decided[0]!).sort(), ["message", "name", "source", "type"]);
    assert.match(String(decided[0]!.message), "start limit: more than 1 restarts within 60 s (last: exited with code 3)");
    assert.is(later.at(-1)?.type, "done");
    assert.is(later.indexOf(decided[0]!), later.length - 2);
    const a = (await statusJson<Status>(dir)).processes.find((entry) => entry.name === "a")!;
    assert.is(a.state, "failed");
  });
});

test("switch (text): an immediate restart (delay 0) is printed as the supervisor's backoff and restarting lines", async () => {
  await scenario(async (dir, files) => {
    const switched = ok(await run(["switch", model(files, 0), "--state-dir", dir]));
    const lines = switched.stderr.split("\n").filter((line) => line.startsWith("supervisor: "));
    assert.is(lines.length, 2, show(switched));
    assert.match(lines[0]!, /^supervisor: a: restart in 0 ms \(at \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    assert.is(lines[1], "supervisor: a: restarting (restart 1)");
    assert.match(switched.stdout, /done: generation 1 in \d+ ms\n$/);
    await aRestarted(dir, files);
    // The next death (during restart b) is at the start limit.
    const again = ok(await run(["restart", "b", "--state-dir", dir]));
    assert.match(again.stderr, /^supervisor: a: failed: start limit: more than 1 restarts within 60 s \(last: exited with code 3\)$/m, show(again));
  });
});

test("switch --json: a liveness check under way when the switch paused the supervisor, failing during the switch, is reported as unhealthy", async () => {
  await scenario(async (dir, files) => {
    const f = (name: string) => path.join(files, name);
    // Every check of h waits for `release` (written by r's start, during the second switch), then fails.
    const h = {
      foregroundProcess: "/bin/sh",
      args: ["-c", "exec sleep 1000"],
      liveness: { command: `touch ${f("checking")}; while [ ! -e ${f("release")} ]; do sleep 0.02; done; exit 1`, interval: 0.1, timeout: 60, failures: 1 },
    };
    ok(await run(["switch", writeJson(f("one.json"), { h }), "--state-dir", dir]));
    await waitFor(() => existsSync(f("checking")) || undefined, 20_000, "h's first liveness check to be under way");
    // r is ready once the supervisor has recorded h as unhealthy (its status file is written first).
    const r = {
      foregroundProcess: "/bin/sh",
      args: ["-c", `touch ${f("release")}; exec sleep 1000`],
      readiness: { command: `grep -q '"unhealthy"' ${path.join(dir, "lib", "procman", "supervision.json")}` },
      restart: "no",
    };
    const switched = ok(await run(["switch", writeJson(f("two.json"), { h, r }), "--json", "--state-dir", dir]));
    const events = jsonEvents(switched.stdout);
    assert.equal(supervisorEvents(events), [{ type: "unhealthy", source: "supervisor", name: "h", failures: 1 }], show(switched));
    assert.is(events.at(-2)?.type, "unhealthy");
    assert.is(events.at(-1)?.type, "done");
  });
});

test("a command during which nothing dies reports no supervisor decision", async () => {
  await scenario(async (dir, files) => {
    const file = writeJson(path.join(files, "calm.json"), {
      calm: { foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 1000"], restart: { policy: "always", delay: 0 } },
      after: { foregroundProcess: "/bin/sh", args: ["-c", "exec sleep 1000"], activatesAfter: ["calm"] },
    });
    for (const args of [["switch", file], ["switch", file], ["restart", "calm"], ["stop", "after"], ["start", "after"]]) {
      const result = ok(await run([...args, "--json", "--state-dir", dir]));
      const events = jsonEvents(result.stdout);
      assert.equal(supervisorEvents(events), [], `${args.join(" ")}: ${show(result)}`);
      assert.is(events.at(-1)?.type, "done");
    }
    const text = ok(await run(["switch", file, "--state-dir", dir]));
    assert.not.match(text.stderr, "supervisor:", show(text));
  });
});

test.run();
