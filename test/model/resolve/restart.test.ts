// restart: policy names, the object form with backoff and start limit, and what is refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve } from "../../helpers/model.js";

const restartOf = (restart: unknown) => resolve({ a: ok({ restart }) }).processes[0]!.restart;
const LIMIT = { burst: 5, interval: 60 };

test("a policy name gets every default: delay 1, maxDelay 30, 5 restarts in 60 s", () => {
  for (const policy of ["no", "on-failure", "always"]) {
    assert.equal(restartOf(policy), { policy, delay: 1, maxDelay: 30, limit: LIMIT });
  }
  assert.equal(resolve({ a: ok() }).processes[0]!.restart, { policy: "on-failure", delay: 1, maxDelay: 30, limit: LIMIT });
});

test("the object form takes each setting, the rest defaulted", () => {
  assert.equal(restartOf({ policy: "always", delay: 0.5, maxDelay: 8, limit: { burst: 1, interval: 2.5 } }), {
    policy: "always",
    delay: 0.5,
    maxDelay: 8,
    limit: { burst: 1, interval: 2.5 },
  });
  assert.equal(restartOf({ limit: { burst: 10 } }), { policy: "on-failure", delay: 1, maxDelay: 30, limit: { burst: 10, interval: 60 } });
});

test("a delay longer than the default maxDelay raises the cap when maxDelay is not given", () => {
  assert.equal(restartOf({ delay: 45 }), { policy: "on-failure", delay: 45, maxDelay: 45, limit: LIMIT });
});

test("maxDelay shorter than delay is refused", () => {
  assert.equal(problems({ a: ok({ restart: { delay: 10, maxDelay: 5 } }), b: ok({ restart: { maxDelay: 0.5 } }) }), [
    "a: restart.maxDelay: (5 s) is shorter than restart.delay (10 s)",
    "b: restart.maxDelay: (0.5 s) is shorter than the default restart.delay (1 s)",
  ]);
});

test("an invalid delay is reported once, not compared with maxDelay", () => {
  assert.equal(problems({ a: ok({ restart: { delay: "10", maxDelay: 0.5 } }) }), ['a: restart.delay: must be a number of seconds (got string "10")']);
});

test("start limit: burst a positive integer, interval positive seconds, no other keys", () => {
  assert.equal(
    problems({
      a: ok({ restart: { limit: { burst: 0 } } }),
      b: ok({ restart: { limit: { burst: 2.5 } } }),
      c: ok({ restart: { limit: { interval: 0 } } }),
      d: ok({ restart: { limit: { bursts: 3 } } }),
      e: ok({ restart: { limit: 5 } }),
    }),
    [
      "a: restart.limit.burst: must be an integer at least 1 and at most 10000 (got 0)",
      "b: restart.limit.burst: must be an integer (got number 2.5)",
      "c: restart.limit.interval: must be a number greater than 0 and at most 86400 seconds (got 0)",
      "d: restart.limit.bursts: unknown field (did you mean burst?)",
      "e: restart.limit: must be an object such as { burst: 5, interval: 60 } (got number 5)",
    ],
  );
});

test("every problem of one restart object is reported at once", () => {
  assert.equal(problems({ a: ok({ restart: { policy: "sometimes", delay: "1", maxDelai: 3, limit: { burst: -1 } } }) }), [
    "a: restart.maxDelai: unknown field (did you mean maxDelay?)",
    'a: restart.policy: must be one of no, on-failure, always (got string "sometimes")',
    'a: restart.delay: must be a number of seconds (got string "1")',
    "a: restart.limit.burst: must be an integer at least 1 and at most 10000 (got -1)",
  ]);
});

test.run();
