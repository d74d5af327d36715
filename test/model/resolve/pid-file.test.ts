// pidFile: where it defaults to (a daemon running as another user: into its runtimeDirectory), and
// the files no process may claim (procman's records, another process's PID file or log).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createContext } from "../../../src/model/context.js";
import { MODULE, ok, problems, resolve, STATE_DIR } from "../../helpers/model.js";

const one = (fields: Record<string, unknown>) => resolve({ d: fields }).processes[0]!;

test("a daemon with user and runtimeDirectory writes its PID file into that directory", () => {
  const spec = one({ daemon: "/usr/sbin/d", user: "nobody", runtimeDirectory: "d" });
  assert.is(spec.pidFile, `${STATE_DIR}/run/d/d.pid`);
  assert.equal(spec.readiness, { kind: "pidFile", path: `${STATE_DIR}/run/d/d.pid`, timeout: 30, interval: 0.1 });
});

test("otherwise the PID file stays in ${runtimeDir}: no user, a foreground process, a declared pidFile", () => {
  assert.is(one({ daemon: "/usr/sbin/d", runtimeDirectory: "d" }).pidFile, `${STATE_DIR}/run/d.pid`);
  assert.is(one({ process: "/bin/d", user: "nobody", runtimeDirectory: "d" }).pidFile, `${STATE_DIR}/run/d.pid`);
  assert.is(one({ daemon: "/usr/sbin/d", user: "nobody", runtimeDirectory: "d", pidFile: "/run/d.pid" }).pidFile, "/run/d.pid");
  assert.is(one({ daemon: "/usr/sbin/d", user: "nobody" }).pidFile, `${STATE_DIR}/run/d.pid`);
});

test("with forceDisableUserChange the daemon runs as procman: its PID file stays in ${runtimeDir}", () => {
  const context = createContext({ stateDir: STATE_DIR, modelDir: "/m", forceDisableUserChange: true });
  const spec = resolve({ d: { daemon: "/usr/sbin/d", user: "nobody", runtimeDirectory: "d" } }, MODULE, context).processes[0]!;
  assert.is(spec.pidFile, `${STATE_DIR}/run/d.pid`);
});

test("a pidFile inside procman's own records is refused, however it is spelled", () => {
  const records = `${STATE_DIR}/lib/procman`;
  assert.equal(
    problems({
      a: ok({ pidFile: `${records}/current.json` }),
      b: ok({ pidFile: "../lib/procman/lock" }),
      c: ok({ pidFile: records }),
    }),
    [
      `a: pidFile: ${records}/current.json is inside procman's own records (${records})`,
      `b: pidFile: ${records}/lock is inside procman's own records (${records})`,
      `c: pidFile: ${records} is inside procman's own records (${records})`,
    ],
  );
});

// A review: a pidFile equal to ${runtimeDir} was written as a file named run, after which status
// and stop refused the state dir (exit 2) with the process still running.
test("a pidFile that is one of procman's directories, or above one, is refused", () => {
  const parent = STATE_DIR.slice(0, STATE_DIR.lastIndexOf("/"));
  assert.equal(
    problems({
      a: ok({ pidFile: `${STATE_DIR}/run` }),
      b: ok({ pidFile: STATE_DIR }),
      c: ok({ pidFile: `${STATE_DIR}/lib` }),
      d: ok({ pidFile: `${STATE_DIR}/log` }),
      e: ok({ pidFile: parent }),
      f: ok({ pidFile: "/" }),
      g: ok({ pidFile: `${STATE_DIR}/run/g.pid` }),
    }),
    [
      `a: pidFile: ${STATE_DIR}/run is procman's runtimeDir, a directory; name a file in it`,
      `b: pidFile: ${STATE_DIR} is procman's stateDir, a directory; name a file in it`,
      `c: pidFile: ${STATE_DIR}/lib is procman's \${stateDir}/lib, a directory; name a file in it`,
      `d: pidFile: ${STATE_DIR}/log is procman's logDir, a directory; name a file in it`,
      `e: pidFile: ${parent} is a directory above procman's stateDir (${STATE_DIR}); name a file`,
      `f: pidFile: / is a directory above procman's stateDir (${STATE_DIR}); name a file`,
    ],
  );
});

test("two processes sharing one pidFile: both named", () => {
  assert.equal(problems({ a: ok({ pidFile: "/run/x.pid" }), b: ok({ pidFile: "/run/x.pid" }), c: ok({ pidFile: "x.pid" }) }), [
    "b: pidFile: /run/x.pid is also a's pidFile; each process needs its own",
  ]);
  // A relative one collides with a default: c's default is ${runtimeDir}/c.pid.
  assert.equal(problems({ a: ok({ pidFile: "c.pid" }), c: ok() }), [`c: pidFile: ${STATE_DIR}/run/c.pid is also a's pidFile; each process needs its own`]);
});

test("a pidFile that is a process's log is refused", () => {
  assert.equal(problems({ a: ok({ pidFile: `${STATE_DIR}/log/b.log` }), b: ok({ pidFile: "../log/b.log" }) }), [
    `b: pidFile: ${STATE_DIR}/log/b.log is the process's own log`,
    `a: pidFile: ${STATE_DIR}/log/b.log is also b's log; each process needs its own`,
  ]);
});

test.run();
