// readiness kinds added for supervision: tcp.owned, file, notify.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MODEL_DIR, ok, problems, resolve, STATE_DIR } from "../../helpers/model.js";

const readinessOf = (fields: Record<string, unknown>) => resolve({ a: ok(fields) }).processes[0]!.readiness;
const TIMING = { timeout: 30, interval: 0.1 };

test("tcp: owned defaults to true; false accepts any listener", () => {
  assert.equal(readinessOf({ readiness: { tcp: { port: 80 } } }), { kind: "tcp", host: "127.0.0.1", port: 80, owned: true, ...TIMING });
  assert.equal(readinessOf({ readiness: { tcp: { port: 80, owned: false } } }), { kind: "tcp", host: "127.0.0.1", port: 80, owned: false, ...TIMING });
  assert.equal(problems({ a: ok({ readiness: { tcp: { port: 80, owned: "no" } } }) }), [
    'a: readiness.tcp.owned: must be true or false (got string "no")',
  ]);
});

test("tcp host: a name or an address, nothing a shell would read as syntax", () => {
  assert.equal(readinessOf({ readiness: { tcp: { port: 80, host: "fe80::1%eth0" } } }), {
    kind: "tcp",
    host: "fe80::1%eth0",
    port: 80,
    owned: true,
    ...TIMING,
  });
  assert.equal(problems({ a: ok({ readiness: { tcp: { port: 80, host: "db; rm -rf /" } } }), b: ok({ liveness: { tcp: { port: 80, host: "$(id)" } } }) }), [
    'a: readiness.tcp.host: "db; rm -rf /" is not a host name or an IP address',
    'b: liveness.tcp.host: "$(id)" is not a host name or an IP address',
  ]);
});

test("file: absolute as it is; relative to the process's directory, else the model's", () => {
  assert.equal(readinessOf({ readiness: { file: "/srv/ready" } }), { kind: "file", path: "/srv/ready", ...TIMING });
  assert.equal(readinessOf({ readiness: { file: "ready" } }), { kind: "file", path: `${MODEL_DIR}/ready`, ...TIMING });
  assert.equal(readinessOf({ directory: "/srv/app", readiness: { file: "tmp/ready" } }), { kind: "file", path: "/srv/app/tmp/ready", ...TIMING });
});

test("file: never procman's records, the process's own PID file or log, nor another's", () => {
  const records = `${STATE_DIR}/lib/procman`;
  assert.equal(
    problems({
      a: ok({ readiness: { file: `${records}/current.json` } }),
      b: ok({ readiness: { file: `${STATE_DIR}/run/b.pid` } }),
      c: ok({ readiness: { file: `${STATE_DIR}/log/c.log` } }),
      d: ok({ readiness: { file: `${STATE_DIR}/run/e.pid` } }),
      e: ok(),
      f: ok({ readiness: { file: "" } }),
      g: ok({ readiness: { file: `${STATE_DIR}/log` } }),
    }),
    [
      `a: readiness.file: ${records}/current.json is inside procman's own records (${records})`,
      `b: readiness.file: ${STATE_DIR}/run/b.pid is the process's pidFile; name a file of its own`,
      `c: readiness.file: ${STATE_DIR}/log/c.log is the process's log; use readiness.logLine to wait for a line`,
      "f: readiness.file: must not be empty",
      `g: readiness.file: ${STATE_DIR}/log is procman's logDir, a directory; name a file in it`,
      `e: pidFile: ${STATE_DIR}/run/e.pid is also d's readiness.file; each process needs its own`,
    ],
  );
});

test("notify: a descriptor 3..255 of a foreground process", () => {
  assert.equal(readinessOf({ readiness: { notify: 3 } }), { kind: "notify", fd: 3, ...TIMING });
  assert.equal(
    problems({
      a: ok({ readiness: { notify: 2 } }),
      b: ok({ readiness: { notify: 256 } }),
      c: ok({ readiness: { notify: "3" } }),
      d: { daemon: "/usr/sbin/d", readiness: { notify: 4 } },
    }),
    [
      "a: readiness.notify: must be an integer at least 3 and at most 255 (got 2)",
      "b: readiness.notify: must be an integer at least 3 and at most 255 (got 256)",
      'c: readiness.notify: must be an integer (got string "3")',
      "d: readiness.notify: needs a foreground process: a daemon forks away from the descriptor procman would read",
    ],
  );
});

test("file and notify are kinds like the others: one at a time", () => {
  assert.equal(problems({ a: ok({ readiness: { file: "/r", notify: 3 } }) }), ["a: readiness: has file and notify; give exactly one kind of check"]);
});

test.run();
