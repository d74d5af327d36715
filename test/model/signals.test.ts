import { test } from "uvu";
import * as assert from "uvu/assert";
import { SIGNALS, normalizeSignal } from "../../src/model/signals.js";

test("signal names with or without SIG, in any case", () => {
  assert.is(normalizeSignal("term"), "SIGTERM");
  assert.is(normalizeSignal("TERM"), "SIGTERM");
  assert.is(normalizeSignal("SIGTERM"), "SIGTERM");
  assert.is(normalizeSignal("sigHup"), "SIGHUP");
  assert.is(normalizeSignal("winch"), "SIGWINCH");
});

test("anything else is not a signal", () => {
  for (const raw of ["SIGFOO", "", "SIG", "15", " SIGTERM", "SIGTERM ", "SIGRTMIN", 15, null, undefined, {}]) {
    assert.is(normalizeSignal(raw), undefined, `accepted ${JSON.stringify(raw)}`);
  }
});

test("every listed signal normalizes to itself", () => {
  for (const signal of SIGNALS) assert.is(normalizeSignal(signal), signal);
  assert.ok(SIGNALS.includes("SIGKILL" as never));
});

test.run();
