import { test } from "uvu";
import * as assert from "uvu/assert";
import { runAsReady } from "../../src/executor/schedule.js";

/** A deferred action per name, resolved or rejected by the test in any order it likes. */
function controlled() {
  const log: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void; signal: AbortSignal }>();
  const action = (name: string, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      log.push(`start ${name}`);
      pending.set(name, { resolve, reject, signal });
    });
  return { log, pending, action };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

test("starts each node once everything it waits for has finished; independent ones together", async () => {
  const deps: Record<string, string[]> = { a: [], b: [], c: ["a", "b"], d: ["c"], e: ["a"] };
  const { log, pending, action } = controlled();
  const run = runAsReady(Object.keys(deps), (name) => deps[name]!, action);
  await tick();
  assert.equal(log, ["start a", "start b"]);
  pending.get("a")!.resolve();
  await tick();
  assert.equal(log, ["start a", "start b", "start e"]);
  pending.get("b")!.resolve();
  await tick();
  assert.equal(log.at(-1), "start c");
  pending.get("e")!.resolve();
  pending.get("c")!.resolve();
  await tick();
  assert.equal(log.at(-1), "start d");
  pending.get("d")!.resolve();
  await run;
  assert.equal(log.length, 5);
});

test("a node waited for that is not scheduled counts as finished; duplicates count once", async () => {
  const order: string[] = [];
  await runAsReady(["x", "y"], (name) => (name === "y" ? ["x", "x", "elsewhere"] : ["elsewhere"]), async (name) => {
    order.push(name);
  });
  assert.equal(order, ["x", "y"]);
});

test("the first failure aborts the in-flight ones, starts nothing new, and is thrown once all settled", async () => {
  const deps: Record<string, string[]> = { a: [], b: [], c: ["a"] };
  const { log, pending, action } = controlled();
  let settled = false;
  const run = runAsReady(Object.keys(deps), (name) => deps[name]!, action).finally(() => (settled = true));
  await tick();
  pending.get("b")!.reject(new Error("b failed"));
  await tick();
  assert.ok(pending.get("a")!.signal.aborted, "the in-flight action's signal is aborted");
  assert.not.ok(settled, "it waits for the in-flight action");
  pending.get("a")!.resolve();
  try {
    await run;
    assert.unreachable("should have thrown");
  } catch (error) {
    assert.is((error as Error).message, "b failed");
  }
  assert.equal(log, ["start a", "start b"], "c never started");
});

test("only the first error is thrown", async () => {
  const { pending, action } = controlled();
  const run = runAsReady(["a", "b"], () => [], action);
  await tick();
  pending.get("a")!.reject(new Error("first"));
  pending.get("b")!.reject(new Error("second"));
  await run.then(
    () => assert.unreachable("should have thrown"),
    (error: Error) => assert.is(error.message, "first"),
  );
});

test("nodes that wait for each other are named", async () => {
  const deps: Record<string, string[]> = { a: [], b: ["c"], c: ["b"], d: ["b"] };
  const started: string[] = [];
  await runAsReady(Object.keys(deps), (name) => deps[name]!, async (name) => {
    started.push(name);
  }).then(
    () => assert.unreachable("should have thrown"),
    (error: Error) => assert.is(error.message, "could not order: b, c, d wait for each other"),
  );
  assert.equal(started, ["a"]);
});

test("linear in nodes and edges: 20,000 nodes in a chain and a fan-in", async () => {
  const n = 20_000;
  const names = Array.from({ length: n }, (_, i) => `p${i}`);
  const count = { value: 0 };
  await runAsReady(names, (name) => (name === "p0" ? [] : [`p${Number(name.slice(1)) - 1}`]), async () => {
    count.value++;
  });
  assert.is(count.value, n);
  // The last node waits for all others; all others are independent.
  const fan = await runAsReady(names, (name) => (name === `p${n - 1}` ? names.slice(0, -1) : []), async () => {
    count.value++;
  });
  assert.is(fan, undefined);
  assert.is(count.value, 2 * n);
});

test("an outer signal aborts every running action's signal; none of its listeners stays", async () => {
  const outer = new AbortController();
  const { pending, action } = controlled();
  const deps: Record<string, string[]> = { a: [], b: [] };
  const run = runAsReady(Object.keys(deps), (name) => deps[name]!, action, outer.signal).then(
    () => undefined,
    (error: unknown) => error,
  );
  await tick();
  assert.is(pending.get("a")!.signal.aborted, false);
  outer.abort();
  assert.ok(pending.get("a")!.signal.aborted && pending.get("b")!.signal.aborted);
  pending.get("a")!.reject(new Error("abandoned a"));
  pending.get("b")!.reject(new Error("abandoned b"));
  assert.is(((await run) as Error).message, "abandoned a");
  // Already aborted: the actions get an aborted signal from the start.
  const late = controlled();
  const again = runAsReady(["x"], () => [], late.action, outer.signal).catch(() => undefined);
  await tick();
  assert.ok(late.pending.get("x")!.signal.aborted);
  late.pending.get("x")!.resolve();
  await again;
});

test.run();
