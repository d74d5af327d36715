// findNestingProblem: an iterative walk, so that recursive ones after it never overflow.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findNestingProblem, formatNestingPath, MAX_NESTING } from "../../src/model/nesting.js";
import { problems } from "../helpers/model.js";

/** `levels` objects, each the `x` of the one around it. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = { x: value };
  return value;
}

test("up to the limit is fine; one level more is named by its path", () => {
  assert.is(findNestingProblem(nested(MAX_NESTING)), undefined);
  const problem = findNestingProblem(nested(MAX_NESTING + 1));
  assert.equal(problem, { path: Array(MAX_NESTING).fill("x"), kind: "too-deep" });
  assert.is(findNestingProblem([[1]], 2), undefined);
  assert.equal(findNestingProblem([[[1]]], 2), { path: [0, 0], kind: "too-deep" });
});

test("a hundred thousand levels: no stack overflow", () => {
  assert.is(findNestingProblem(nested(100_000))!.kind, "too-deep");
});

test("shared objects are walked once, and still count at their deepest place", () => {
  let shared: object = { leaf: 1 };
  for (let level = 0; level < 40; level++) shared = { a: shared, b: shared }; // 2^40 paths
  assert.is(findNestingProblem(shared), undefined);
  const deep = nested(30) as object;
  assert.is(findNestingProblem({ shallow: deep, ...(nested(40) as object) }), undefined, "41 and 31 levels");
  assert.is(findNestingProblem({ shallow: deep, deep: nested(40) as object }, 41), undefined);
  assert.equal(findNestingProblem({ first: deep, later: { again: deep } }, 31)?.path, ["later", "again"]);
});

test("an object that contains itself is a cycle", () => {
  const self: Record<string, unknown> = { list: [] };
  (self.list as unknown[]).push({ back: self });
  assert.equal(findNestingProblem(self), { path: ["list", 0, "back"], kind: "cycle" });
});

test("formatNestingPath: keys, indexes, quoted odd keys, cut short", () => {
  assert.is(formatNestingPath(["a", "environment", 0, "odd key"]), 'a.environment[0]."odd key"');
  assert.is(formatNestingPath(Array(10).fill("x"), 3), "x.x.x…");
});

test("a module's overrides nested too deep, or containing itself: an issue naming the process and the field", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(problems({ web: { process: "/bin/sleep", overrides: { systemd: nested(5000) } } }), [
    `web: overrides.systemd.x.x.x.x.x…: nests more than ${MAX_NESTING} levels deep`,
  ]);
  assert.equal(problems({ web: { process: "/bin/sleep", overrides: { systemd: { Service: cyclic } } } }), [
    "web: overrides.systemd.Service.self: contains itself; overrides are plain data",
  ]);
});

test.run();
