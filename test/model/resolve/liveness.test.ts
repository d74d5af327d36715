// liveness: one kind of check with interval, timeout and failures; hostile shapes refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve } from "../../helpers/model.js";

const livenessOf = (liveness: unknown) => resolve({ a: ok({ liveness }) }).processes[0]!.liveness;
const TIMING = { interval: 10, timeout: 5, failures: 3 };

test("no liveness: undefined", () => {
  assert.is(resolve({ a: ok() }).processes[0]!.liveness, undefined);
});

test("each kind resolves with the default timing", () => {
  assert.equal(livenessOf({ tcp: { port: 6379 } }), { kind: "tcp", host: "127.0.0.1", port: 6379, ...TIMING });
  assert.equal(livenessOf({ http: { url: "http://127.0.0.1:8080/health" } }), {
    kind: "http",
    url: "http://127.0.0.1:8080/health",
    status: 200,
    ...TIMING,
  });
  assert.equal(livenessOf({ command: "redis-cli ping" }), { kind: "command", command: "redis-cli ping", ...TIMING });
  assert.equal(livenessOf({ logWithin: 600 }), { kind: "logWithin", seconds: 600, ...TIMING });
});

test("timing is taken as given; a timeout longer than the interval is allowed", () => {
  assert.equal(livenessOf({ command: "true", interval: 1, timeout: 30, failures: 1 }), {
    kind: "command",
    command: "true",
    interval: 1,
    timeout: 30,
    failures: 1,
  });
});

test("exactly one kind: none or two are refused", () => {
  assert.equal(problems({ a: ok({ liveness: { interval: 5 } }), b: ok({ liveness: { tcp: { port: 1 }, logWithin: 5 } }) }), [
    "a: liveness: has no check: give one of tcp, http, command, logWithin",
    "b: liveness: has tcp and logWithin; give exactly one kind of check",
  ]);
});

test("unknown keys get a suggestion", () => {
  assert.equal(problems({ a: ok({ liveness: { comand: "true" } }), b: ok({ liveness: { command: "true", failure: 2 } }) }), [
    "a: liveness.comand: unknown field (did you mean command?)",
    "a: liveness: has no check: give one of tcp, http, command, logWithin",
    "b: liveness.failure: unknown field (did you mean failures?)",
  ]);
});

test("bad values: timeout 0, failures 0 or fractional, logWithin negative, empty command, tcp without port", () => {
  assert.equal(
    problems({
      a: ok({ liveness: { command: "true", timeout: 0 } }),
      b: ok({ liveness: { command: "true", failures: 0 } }),
      c: ok({ liveness: { command: "true", failures: 1.5 } }),
      d: ok({ liveness: { logWithin: -1 } }),
      e: ok({ liveness: { command: " " } }),
      f: ok({ liveness: { tcp: { host: "::1" } } }),
      g: ok({ liveness: { http: { url: "file:///etc/passwd" } } }),
      h: ok({ liveness: { command: "true\u0000rm -rf /" } }),
      i: ok({ liveness: "http" }),
      j: ok({ liveness: { tcp: { port: 1, owned: false } } }),
    }),
    [
      "a: liveness.timeout: must be a number greater than 0 and at most 3600 seconds (got 0)",
      "b: liveness.failures: must be an integer at least 1 and at most 1000 (got 0)",
      "c: liveness.failures: must be an integer (got number 1.5)",
      "d: liveness.logWithin: must be a number greater than 0 and at most 604800 seconds (got -1)",
      "e: liveness.command: must not be empty",
      "f: liveness.tcp.port: must be an integer (got undefined)",
      'g: liveness.http.url: must be an http:// or https:// URL (got "file:///etc/passwd")',
      "h: liveness.command: contains a NUL character, which no process manager can pass on",
      'i: liveness: must be an object such as { http: { url: "http://127.0.0.1:8080/health" } } (got string "http")',
      "j: liveness.tcp.owned: unknown field (known: port, host)",
    ],
  );
});

test.run();
