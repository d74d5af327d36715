// Waits that wake on events instead of their poll: a file test of a `command` wakes on inotify
// through one shared watch per directory, woken by entry name; the default `started` check is one
// shared queue that looks at a process no earlier than its interval and at a burst together.
import { spawn } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { aliveAfter, aliveLooks, alivePending } from "../../src/executor/alive-wait.js";
import { watchEntry, watchedDirectoryCount } from "../../src/executor/dir-watch.js";
import { pollTimerCount } from "../../src/executor/polled-wait.js";
import { identityOf, type ProcessIdentity } from "../../src/executor/proc.js";
import { AbandonedError, NotReadyError, waitUntilReady } from "../../src/executor/readiness.js";
import { createContext } from "../../src/model/context.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { resolve } from "../helpers/model.js";
import { alive, killedAfterEach, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const spawned = killedAfterEach(test);

/** A process of its own that runs until killed. */
function sleeper(): ProcessIdentity {
  const child = spawn("sleep", ["60"], { detached: true, stdio: "ignore" });
  spawned.push(child);
  return identityOf(child.pid!)!;
}

function specWith(readiness: Record<string, unknown>): ResolvedProcess {
  const dir = makeTempDir();
  const context = createContext({ stateDir: dir, modelDir: dir });
  return resolve({ svc: { foregroundProcess: "/bin/sleep", args: ["60"], readiness } }, undefined, context).processes[0]!;
}

/** The default check (`started`) with an interval of its own (the model gives it no timing keys). */
function startedWith(interval: number): ResolvedProcess {
  const spec = specWith({});
  assert.is(spec.readiness.kind, "started");
  return { ...spec, readiness: { ...spec.readiness, interval } };
}

const tick = () => new Promise((done) => setImmediate(done));

test("command `test -e FILE`: inotify wakes the wait long before the next poll (8 s interval)", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "ready");
  const spec = specWith({ command: `test -e ${file}`, interval: 8, timeout: 30 });
  const began = Date.now();
  const waiting = waitUntilReady(spec, sleeper(), 0);
  await tick();
  // As the bench's fixture does: written to a temporary name, then renamed into place.
  writeFileSync(`${file}.tmp`, "x");
  renameSync(`${file}.tmp`, file);
  await waiting;
  assert.ok(Date.now() - began < 6000, `woke after ${Date.now() - began} ms with an 8 s interval`);
  assert.is(watchedDirectoryCount(), 0, "the watch ends with the wait");
});

test("command `[ -f FILE ]` in a directory made after the wait began: the poll finds it", async () => {
  const dir = path.join(makeTempDir(), "later");
  const file = path.join(dir, "ready");
  const spec = specWith({ command: `[ -f ${file} ]`, interval: 0.05, timeout: 30 });
  const waiting = waitUntilReady(spec, sleeper(), 0);
  await tick();
  mkdirSync(dir);
  writeFileSync(file, "");
  await waiting;
});

test("50 waits on files of one directory share one watch; each passes on its own file only", async () => {
  const dir = makeTempDir();
  const identity = sleeper();
  const before = watchedDirectoryCount();
  const done = new Set<number>();
  const waits = Array.from({ length: 50 }, (_, index) =>
    waitUntilReady(specWith({ command: `test -e ${path.join(dir, `p${index}`)}`, interval: 8, timeout: 30 }), identity, 0).then(() => done.add(index)),
  );
  await tick();
  assert.is(watchedDirectoryCount(), before + 1);
  assert.is(pollTimerCount(), 1, "one poll timer for 50 waits of one interval");
  writeFileSync(path.join(dir, "p7"), "");
  await waitFor(() => done.has(7), 5000, "p7's wait to pass");
  assert.equal([...done], [7], "only the wait on p7 passed");
  for (let index = 0; index < 50; index++) if (index !== 7) writeFileSync(path.join(dir, `p${index}`), "");
  await Promise.all(waits);
  assert.is(watchedDirectoryCount(), before, "no watch left once every wait ended");
  assert.is(pollTimerCount(), 0, "no poll timer left");
});

test("watchEntry: a change wakes the subscriptions on that entry and those on any entry, no others", async () => {
  const dir = makeTempDir();
  const wakes = new Map<string, number>();
  const count = (name: string) => () => wakes.set(name, (wakes.get(name) ?? 0) + 1);
  const subscriptions = Array.from({ length: 300 }, (_, index) => watchEntry(dir, `n${index}`, count(`n${index}`))!);
  const any = watchEntry(dir, undefined, count("any"))!;
  assert.is(watchedDirectoryCount(), 1);
  writeFileSync(path.join(dir, "n7.tmp"), "x");
  renameSync(path.join(dir, "n7.tmp"), path.join(dir, "n7"));
  await waitFor(() => wakes.has("n7"), 5000, "the wake of n7");
  // Events are delivered in order: once n7's arrived, the temporary name's came before it.
  assert.equal([...wakes.keys()].sort(), ["any", "n7"]);
  for (const subscription of subscriptions) subscription.close();
  assert.is(watchedDirectoryCount(), 1, "the any-entry subscription still holds the watch");
  any.close();
  any.close(); // twice is harmless
  assert.is(watchedDirectoryCount(), 0);
  assert.is(watchEntry(path.join(dir, "missing"), "x", () => undefined), undefined, "no watch on a missing directory");
});

test("started: never ready before its interval is over (a monotonic lower bound)", async () => {
  const spec = startedWith(0.5);
  const began = performance.now();
  await waitUntilReady(spec, sleeper(), 0);
  assert.ok(performance.now() - began >= 500, `ready after ${performance.now() - began} ms`);
});

test("started: a process that dies within its interval fails the wait; one look serves a burst", async () => {
  const identities = Array.from({ length: 20 }, () => sleeper());
  const spec = startedWith(2);
  const looks = aliveLooks();
  const outcomes = identities.map((identity) => aliveAfter(identity, 2000));
  const failing = waitUntilReady(spec, identities[3]!, 0).then(
    () => undefined,
    (error: unknown) => error,
  );
  process.kill(identities[3]!.pid, "SIGKILL");
  await waitFor(() => !alive(identities[3]!.pid), 5000, "the killed process to be gone");
  const results = await Promise.all(outcomes);
  assert.equal(results.filter((outcome) => outcome === "dead").length, 1);
  assert.is(results[3], "dead");
  const error = await failing;
  assert.instance(error, NotReadyError);
  assert.ok((error as NotReadyError).exited);
  assert.match((error as Error).message, "before it was ready (waiting for it to stay alive 2 s after its start)");
  // 21 waits made within a few ms of each other: far fewer looks than waits.
  assert.ok(aliveLooks() - looks < 21, `${aliveLooks() - looks} looks for 21 waits`);
});

test("started: an aborted wait is abandoned at once and leaves no timer behind", async () => {
  const abort = new AbortController();
  const spec = startedWith(30);
  const waiting = waitUntilReady(spec, sleeper(), 0, abort.signal).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.is(alivePending(), 1);
  abort.abort();
  assert.instance(await waiting, AbandonedError);
  assert.is(alivePending(), 0);
});

test("a polled wait: the process dies first, it fails as exited; an abort gives it up; no watch stays", async () => {
  const dir = makeTempDir();
  const before = watchedDirectoryCount();
  const identity = sleeper();
  const dying = waitUntilReady(specWith({ command: `test -e ${path.join(dir, "never")}`, interval: 0.05, timeout: 30 }), identity, 0).then(
    () => undefined,
    (error: unknown) => error,
  );
  process.kill(identity.pid, "SIGKILL");
  const error = await dying;
  assert.instance(error, NotReadyError);
  assert.ok((error as NotReadyError).exited);
  assert.match((error as Error).message, /before it was ready \(waiting for command "test -e .*never" to exit 0\)$/);
  const abort = new AbortController();
  const given = waitUntilReady(specWith({ file: path.join(dir, "never"), interval: 8, timeout: 30 }), sleeper(), 0, abort.signal).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  await tick();
  assert.is(watchedDirectoryCount(), before + 1);
  abort.abort();
  assert.instance(await given, AbandonedError);
  assert.is(watchedDirectoryCount(), before);
});

test("a polled wait times out naming what it saw last", async () => {
  const dir = makeTempDir();
  const spec = specWith({ command: `[ -s ${path.join(dir, "empty")} ]`, interval: 0.05, timeout: 0.3 });
  writeFileSync(path.join(dir, "empty"), "");
  const error = await waitUntilReady(spec, sleeper(), 0).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.instance(error, NotReadyError);
  assert.not.ok((error as NotReadyError).exited);
  assert.match((error as Error).message, /^waiting for command "\[ -s .*empty \]" to exit 0: it exited with code 1 after 0\.3 s$/);
});

test("watchEntry: a watch kept a moment after its last subscription still wakes the next one", async () => {
  const dir = makeTempDir();
  watchEntry(dir, "a", () => undefined)!.close();
  assert.is(watchedDirectoryCount(), 0, "nobody subscribes");
  let woken = 0;
  const again = watchEntry(dir, "b", () => woken++)!;
  writeFileSync(path.join(dir, "b"), "x");
  await waitFor(() => woken > 0, 5000, "the wake of b");
  again.close();
});

test("a polled wait near its deadline leaves the shared timer and times out at the deadline, not before", async () => {
  const dir = makeTempDir();
  const spec = specWith({ command: `test -e ${path.join(dir, "never")}`, interval: 0.25, timeout: 0.4 });
  const began = performance.now();
  const error = await waitUntilReady(spec, sleeper(), 0).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.instance(error, NotReadyError);
  assert.ok(performance.now() - began >= 399, `timed out after ${performance.now() - began} ms`);
  assert.is(pollTimerCount(), 0);
});

test("60 waits on one abort signal: no listener warning; one abort gives every one up", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on("warning", onWarning);
  try {
    const dir = makeTempDir();
    const abort = new AbortController();
    const identity = sleeper();
    const waits = [
      ...Array.from({ length: 30 }, () => waitUntilReady(startedWith(30), identity, 0, abort.signal)),
      ...Array.from({ length: 30 }, (_, index) =>
        waitUntilReady(specWith({ command: `test -e ${path.join(dir, `w${index}`)}`, interval: 8, timeout: 30 }), identity, 0, abort.signal),
      ),
    ].map((wait) => wait.then(() => undefined, (error: unknown) => error));
    await tick();
    abort.abort();
    for (const outcome of await Promise.all(waits)) assert.instance(outcome, AbandonedError);
    await tick();
    assert.equal(warnings.filter((message) => /listener/i.test(message)), []);
    assert.is(alivePending(), 0);
    assert.is(pollTimerCount(), 0);
  } finally {
    process.off("warning", onWarning);
  }
});

test.run();
