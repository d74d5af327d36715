// Error classes: stable codes, exit codes, and messages that name the file, line, process and field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LoadError, ModelError, ProcmanError, UsageError, formatIssue } from "../src/errors.js";

test("formatIssue joins process, field and message; leaves out what is missing", () => {
  assert.is(formatIssue({ process: "web", field: "nice", message: "bad" }), "web: nice: bad");
  assert.is(formatIssue({ process: "web", message: "bad" }), "web: bad");
  assert.is(formatIssue({ field: "x", message: "bad" }), "x: bad");
  assert.is(formatIssue({ process: "web", field: "", message: "bad" }), "web: bad");
  assert.is(formatIssue({ message: "bad" }), "bad");
});

test("LoadError: file, line and column in the message", () => {
  const error = new LoadError("m.ts", "syntax error: x", { line: 3, column: 7 });
  assert.is(error.message, "m.ts:3:7: syntax error: x");
  assert.is(error.line, 3);
  assert.is(error.file, "m.ts");
  assert.is(new LoadError("m.ts", "oops", { line: 3 }).message, "m.ts:3: oops");
  assert.is(new LoadError("m.ts", "no such file").message, "m.ts: no such file");
  assert.is(error.code, "ELOAD");
  assert.is(error.exitCode, 2);
  assert.is(error.name, "LoadError");
  assert.instance(error, ProcmanError);
});

test("ModelError: a count, then one line per issue", () => {
  const error = new ModelError([{ process: "a", field: "f", message: "m1" }, { message: "m2" }], "p.yaml");
  assert.is(error.message, "p.yaml: 2 problems\n  - a: f: m1\n  - m2");
  assert.is(error.name, "ModelError");
  assert.is(new ModelError([{ message: "m" }]).message, "the model: 1 problem\n  - m");
});

test("UsageError exits 2", () => {
  const error = new UsageError("bad flag");
  assert.is(error.code, "EUSAGE");
  assert.is(error.exitCode, 2);
  assert.is(error.message, "bad flag");
});

test.run();
