// The restart policies as pure functions: what is a failure, what is restarted, the doubling delay
// and its reset, and the start limit.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { RestartSettings } from "../../src/model/types.js";
import { FRESH, childExit, decide, isFailure, needsSupervisor, wantsRestart, type BackoffState, type ExitFacts } from "../../src/supervisor/policy.js";

const settings = (policy: RestartSettings["policy"], extra: Partial<RestartSettings> = {}): RestartSettings => ({
  policy, delay: 1, maxDelay: 30, limit: { burst: 5, interval: 60 }, ...extra,
});
const clean = childExit(0, null);
const crash = childExit(3, null);
const killed = childExit(null, "SIGSEGV");
const liveness: ExitFacts = { code: null, signal: "SIGTERM", reason: "liveness" };
const unknown: ExitFacts = { code: null, signal: null, reason: "unknown" };

test("failures: non-zero, a signal procman did not send, liveness, unknown, a clean exit before ready; not a clean exit", () => {
  assert.is(isFailure(clean), false);
  assert.is(isFailure(crash), true);
  assert.is(isFailure(killed), true);
  assert.is(isFailure(liveness), true);
  assert.is(isFailure(unknown), true);
  assert.is(isFailure({ ...clean, beforeReady: true }), true);
  assert.equal(killed, { code: null, signal: "SIGSEGV", reason: "signal" });
});

test("policies: no never, always always, on-failure only failures", () => {
  for (const exit of [clean, crash, killed, liveness, unknown]) {
    assert.is(wantsRestart("no", exit), false);
    assert.is(wantsRestart("always", exit), true);
    assert.is(wantsRestart("on-failure", exit), isFailure(exit));
  }
});

test("the delay doubles from delay up to maxDelay", () => {
  const s = settings("on-failure", { delay: 1, maxDelay: 10, limit: { burst: 100, interval: 60 } });
  let state: BackoffState = FRESH;
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const decision = decide(s, state, crash, 1_000_000 + i * 1000, 10);
    assert.is(decision.action, "restart");
    if (decision.action !== "restart") return;
    delays.push(decision.delayMs);
    state = decision.state;
  }
  assert.equal(delays, [1000, 2000, 4000, 8000, 10000, 10000]);
});

test("staying up maxDelay resets the delay", () => {
  const s = settings("always", { delay: 1, maxDelay: 10, limit: { burst: 100, interval: 60 } });
  const state: BackoffState = { consecutive: 4, recent: [] };
  const short = decide(s, state, crash, 5_000_000, 9_999);
  const long = decide(s, state, crash, 5_000_000, 10_000);
  assert.is(short.action === "restart" && short.delayMs, 10_000);
  assert.is(long.action === "restart" && long.delayMs, 1000);
  // never ready (null) does not count as up
  const never = decide(s, state, crash, 5_000_000, null);
  assert.is(never.action === "restart" && never.delayMs, 10_000);
});

test("more than burst restarts within interval: failed; older restarts fall out of the window", () => {
  const s = settings("on-failure", { delay: 0, limit: { burst: 3, interval: 10 } });
  let state: BackoffState = FRESH;
  for (let i = 0; i < 3; i++) {
    const decision = decide(s, state, crash, 100_000 + i, null);
    assert.is(decision.action, "restart");
    if (decision.action === "restart") state = decision.state;
  }
  const fourth = decide(s, state, crash, 100_010, null);
  assert.is(fourth.action, "failed");
  assert.match(fourth.action === "failed" ? fourth.why : "", "start limit: more than 3 restarts within 10 s");
  // 10 s later the window holds none of them
  assert.is(decide(s, state, crash, 110_003, null).action, "restart");
});

test("a clean exit under on-failure: nothing; a failure under no: failed", () => {
  assert.equal(decide(settings("on-failure"), FRESH, clean, 0, 100), { action: "none" });
  assert.equal(decide(settings("no"), FRESH, clean, 0, 100), { action: "none" });
  const no = decide(settings("no"), FRESH, liveness, 0, 100);
  assert.is(no.action, "failed");
});

test("a supervisor is needed for any policy but no, or any liveness check", () => {
  assert.is(needsSupervisor([{ restart: settings("no") }]), false);
  assert.is(needsSupervisor([{ restart: settings("no") }, { restart: settings("on-failure") }]), true);
  assert.is(needsSupervisor([{ restart: settings("no"), liveness: { kind: "logWithin" } }]), true);
  assert.is(needsSupervisor([]), false);
});

test.run();
