// One switch at a time per state dir: concurrent switches queue and each process runs once; a
// switch that cannot get the lock within --lock-timeout exits 3; a paused switch keeps its lock
// however long it is paused, a killed one loses it at once.
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { procman, show } from "../helpers/cli.js";
import { freePort, instances, killLeftovers, service, startProcman, stateDir as newStateDir, tagged, waitFor, writeJson } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

async function cleanup(dir: string): Promise<void> {
  const stop = await procman(["stop", "--state-dir", dir], { timeoutMs: 30_000 });
  const left = killLeftovers(dir);
  assert.is(stop.code, 0, show(stop));
  assert.equal(left, [], "stop left processes");
}

test("two switches started at once on one state dir: both exit 0, each process runs exactly once", async () => {
  const dir = newStateDir();
  const files = makeTempDir();
  try {
    const events = path.join(files, "events.jsonl");
    const model = writeJson(path.join(files, "model.json"), {
      a: service("a", events, { READY_DELAY: "200", READY_FILE: path.join(files, "a.ready") }, { readiness: { command: 'test -e "$READY_FILE"', timeout: 10 } }),
      b: service("b", events, {}, { activatesAfter: ["a"] }),
      c: service("c", events),
    });
    const runs = [startProcman(["switch", model, "--state-dir", dir]), startProcman(["switch", model, "--state-dir", dir])];
    const results = await Promise.all(runs.map((run) => run.done));
    for (const result of results) assert.is(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const running = instances(dir);
    assert.equal([...running.keys()].sort(), ["a", "b", "c"]);
    for (const [name, pids] of running) assert.is(pids.length, 1, `${name} runs ${pids.length} times: ${pids.join(", ")}`);
    assert.is(tagged(dir).length, 3);
    // One of them started everything, the other found it running.
    const plans = results.map((result) => /plan: stop (\d+), start (\d+), keep (\d+)/.exec(result.stdout)?.slice(1).join(","));
    assert.equal([...plans].sort(), ["0,0,3", "0,3,0"]);
  } finally {
    await cleanup(dir);
  }
});

test("--lock-timeout 1 while another switch holds the lock: exit 3 with a clear message, and the first switch is unharmed", async () => {
  const dir = newStateDir();
  const files = makeTempDir();
  try {
    const events = path.join(files, "events.jsonl");
    const port = await freePort();
    const model = writeJson(path.join(files, "model.json"), {
      slow: service("slow", events, { READY_DELAY: "4000", TCP_PORT: String(port) }, { readiness: { tcp: { port }, timeout: 20 } }),
    });
    const first = startProcman(["switch", model, "--state-dir", dir]);
    // It holds the lock once it starts the slow process.
    await waitFor(() => first.output().includes("starting slow"), 15_000, "the first switch to start its process");
    const began = Date.now();
    const second = await procman(["switch", model, "--state-dir", dir, "--lock-timeout", "1"], { timeoutMs: 30_000 });
    const waited = Date.now() - began;
    assert.is(second.code, 3, show(second));
    assert.match(second.stderr, `procman: the state dir ${dir} is locked by another procman; gave up after waiting 1 s`);
    assert.ok(waited >= 1000, `gave up after ${waited} ms`);
    assert.not.ok(first.output().includes("done"), "the first switch must still be running for this test to mean anything");
    const done = await first.done;
    assert.is(done.code, 0, `${done.stdout}\n${done.stderr}`);
    assert.equal([...instances(dir).entries()], [["slow", [instances(dir).get("slow")![0]]]]);
  } finally {
    await cleanup(dir);
  }
});

/** A switch holding the lock while its one slow process gets ready. */
async function slowSwitch(dir: string, files: string, readyDelayMs: number) {
  const events = path.join(files, "events.jsonl");
  const port = await freePort();
  const model = writeJson(path.join(files, "model.json"), {
    slow: service("slow", events, { READY_DELAY: String(readyDelayMs), TCP_PORT: String(port) }, { readiness: { tcp: { port }, timeout: 60 } }),
  });
  const first = startProcman(["switch", model, "--state-dir", dir]);
  await waitFor(() => first.output().includes("starting slow"), 15_000, "the first switch to start its process");
  return { model, first };
}

test("a switch paused with SIGSTOP (Ctrl-Z) keeps its lock past any staleness period; resumed, it completes", async () => {
  const dir = newStateDir();
  const files = makeTempDir();
  const { model, first } = await slowSwitch(dir, files, 1000);
  try {
    first.child.kill("SIGSTOP");
    // proper-lockfile took a lock over after 5 s without a refresh: both switches then ran at once.
    const second = await procman(["switch", model, "--state-dir", dir, "--lock-timeout", "7"], { timeoutMs: 30_000 });
    assert.is(second.code, 3, show(second));
    assert.match(second.stderr, `(held by PID ${first.child.pid})`);
    first.child.kill("SIGCONT");
    const done = await first.done;
    assert.is(done.code, 0, `${done.stdout}\n${done.stderr}`);
    assert.not.match(done.stderr, "Lock is already released");
    assert.is(instances(dir).get("slow")?.length, 1);
  } finally {
    first.child.kill("SIGCONT");
    await cleanup(dir);
  }
});

test("a switch killed with kill -9 loses its lock at once: the next switch takes it within --lock-timeout 1 and converges", async () => {
  const dir = newStateDir();
  const files = makeTempDir();
  const { first } = await slowSwitch(dir, files, 60_000);
  try {
    first.child.kill("SIGKILL");
    await first.done;
    const quick = writeJson(path.join(files, "quick.json"), { quick: service("quick", path.join(files, "events.jsonl")) });
    const second = await procman(["switch", quick, "--state-dir", dir, "--lock-timeout", "1"], { timeoutMs: 60_000 });
    assert.is(second.code, 0, show(second));
    assert.equal([...instances(dir).keys()], ["quick"], "the killed switch's process was recovered and stopped");
  } finally {
    await cleanup(dir);
  }
});

test.run();
