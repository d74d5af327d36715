// initialize and onFailure: shell text passed on byte for byte; NUL and blank refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve } from "../../helpers/model.js";

test("onFailure: shell text kept as written, newlines and quotes included; undefined by default", () => {
  const text = 'mail -s "$PROCMAN_PROCESS failed" ops@example.org </dev/null\nlogger \'failed\'';
  assert.is(resolve({ a: ok({ onFailure: text }) }).processes[0]!.onFailure, text);
  assert.is(resolve({ a: ok() }).processes[0]!.onFailure, undefined);
});

test("onFailure: NUL, blank and non-strings are refused", () => {
  assert.equal(problems({ a: ok({ onFailure: "a\u0000b" }), b: ok({ onFailure: "  \n" }), c: ok({ onFailure: ["mail"] }) }), [
    "a: onFailure: contains a NUL character, which no process manager can pass on",
    "b: onFailure: must not be empty",
    "c: onFailure: must be a string (got an array)",
  ]);
});

test.run();
