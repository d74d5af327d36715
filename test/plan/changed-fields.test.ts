// changedFields and specHash: what restarts a process, named as the model writes it.
import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { changedFields, changedSettings } from "../../src/plan/changed-fields.js";
import { canonicalJson } from "../../src/plan/canonical-json.js";
import { RESTART_FIELDS, specHash } from "../../src/plan/spec-hash.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { resolve } from "../helpers/model.js";

const spec = (fields: Record<string, unknown>): ResolvedProcess => resolve({ p: fields }).processes[0]!;
const changes = (before: Record<string, unknown>, after: Record<string, unknown>) => changedFields(spec(before), spec(after));

test("a foreground process: its executable is foregroundProcess, its arguments args", () => {
  assert.equal(changes({ foregroundProcess: "/bin/a", args: ["1"] }, { foregroundProcess: "/bin/a", args: ["2"] }), ["args"]);
  assert.equal(changes({ process: "/bin/a" }, { process: "/bin/b" }), ["foregroundProcess"]);
});

test("a daemon: daemon and daemonArgs", () => {
  assert.equal(changes({ daemon: "/bin/d", daemonArgs: ["-1"] }, { daemon: "/bin/d", daemonArgs: ["-2"] }), ["daemonArgs"]);
  assert.equal(changes({ daemon: "/bin/d" }, { daemon: "/bin/e" }), ["daemon"]);
});

test("both modes: one executable is process; common arguments args, separate ones by mode", () => {
  assert.equal(changes({ process: "/bin/a", daemonArgs: ["-d"] }, { process: "/bin/b", daemonArgs: ["-d"] }), ["process"]);
  const both = { foregroundProcess: "/bin/f", daemon: "/bin/d" };
  assert.equal(changes({ ...both, args: ["1"] }, { ...both, args: ["2"] }), ["args"]);
  assert.equal(
    changes({ ...both, foregroundProcessArgs: ["1"], daemonArgs: ["-d"] }, { ...both, foregroundProcessArgs: ["2"], daemonArgs: ["-d"] }),
    ["foregroundProcessArgs"],
  );
});

test("path changes PATH, but only path is named; a declared PATH is environment", () => {
  assert.equal(changes({ process: "/bin/a", path: ["/opt/a"] }, { process: "/bin/a", path: ["/opt/b"] }), ["path"]);
  assert.equal(
    changes({ process: "/bin/a", path: ["/opt/a"], environment: { PATH: "/bin" } }, { process: "/bin/a", path: ["/opt/a"], environment: { PATH: "/usr/bin" } }),
    ["environment"],
  );
});

test("readiness: the check restarts, its timing does not", () => {
  const tcp = (port: number, timeout = 30) => ({ process: "/bin/a", readiness: { tcp: { port }, timeout } });
  assert.equal(changes(tcp(80), tcp(81)), ["readiness"]);
  assert.equal(changes(tcp(80), { process: "/bin/a" }), ["readiness"], "back to the default check");
  assert.equal(changes(tcp(80), tcp(80, 5)), []);
  assert.is(specHash(spec(tcp(80))), specHash(spec(tcp(80, 5))));
  assert.is.not(specHash(spec(tcp(80))), specHash(spec({ process: "/bin/a" })));
  assert.is.not(specHash(spec(tcp(80))), specHash(spec({ process: "/bin/a", readiness: { tcp: { port: 80, owned: false } } })));
});

test("settings the supervisor reads are listed apart and restart nothing", () => {
  const before = spec({ process: "/bin/a" });
  const after = spec({ process: "/bin/a", restart: "always", liveness: { logWithin: 60 }, log: { keep: 5 }, onFailure: "true" });
  assert.equal(changedFields(before, after), []);
  assert.equal(changedSettings(before, after), ["restart", "liveness", "log", "onFailure"]);
  assert.is(specHash(before), specHash(after));
});

test("a process that uses none of the newer fields keeps the hash it had before they existed", () => {
  // The hash as it was computed before readiness and the directories were hashed.
  const former = (s: ResolvedProcess) =>
    createHash("sha256")
      .update(canonicalJson(Object.fromEntries(RESTART_FIELDS.map((field) => [field, s[field] ?? null]))))
      .digest("hex")
      .slice(0, 32);
  for (const fields of [{ process: "/bin/a", environment: { A: "1" } }, { daemon: "/bin/d", pidFile: "/run/d.pid", user: "nobody" }]) {
    assert.is(specHash(spec(fields)), former(spec(fields)));
  }
  assert.is.not(specHash(spec({ process: "/bin/a", stateDirectory: "a" })), former(spec({ process: "/bin/a", stateDirectory: "a" })));
});

test.run();
