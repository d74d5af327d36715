// A TS model is code: its getters and proxies may throw while procman reads them. That is bad
// input (a ModelError naming the process), never a crash.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems } from "../helpers/model.js";

test("a getter that throws names its process; the other processes are still checked", () => {
  const bad = {
    process: "/bin/x",
    get args(): string[] {
      throw new Error("no args today");
    },
  };
  assert.equal(problems({ a: bad, b: ok({ nice: 99 }) }), [
    "a: reading this process threw: no args today",
    "b: nice: must be an integer at least -20 and at most 19 (got 99)",
  ]);
});

test("a model whose keys cannot be read is reported as the model's problem", () => {
  const model = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("hostile");
      },
    },
  );
  assert.equal(problems(model), ["reading the model threw: hostile"]);
});

test("a thrown non-Error is reported too", () => {
  const bad = {
    get process(): string {
      throw "just a string";
    },
  };
  assert.equal(problems({ a: bad }), ["a: reading this process threw: just a string"]);
});

test.run();
