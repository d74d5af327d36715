// The field checkers normalization is built from.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  IssueList,
  checkKnownKeys,
  checkLine,
  checkNumber,
  checkStringArray,
  checkText,
  controlCharName,
  describeValue,
  isPlainObject,
  type Report,
} from "../../src/model/checks.js";

function recorder(): { report: Report; issues: string[] } {
  const issues: string[] = [];
  return { report: (field, message) => void issues.push(`${field}: ${message}`), issues };
}

test("describeValue", () => {
  assert.is(describeValue(null), "null");
  assert.is(describeValue(undefined), "undefined");
  assert.is(describeValue([1]), "an array");
  assert.is(describeValue('a"b'), 'string "a\\"b"');
  assert.is(describeValue(1.5), "number 1.5");
  assert.is(describeValue(false), "boolean false");
  assert.is(describeValue(10n), "bigint 10");
  assert.is(describeValue({}), "an object");
  assert.is(describeValue(() => 1), "function");
});

test("isPlainObject", () => {
  assert.ok(isPlainObject({}));
  assert.ok(isPlainObject(Object.create(null)));
  for (const value of [null, [], new Map(), new Date(), "x", 1, () => 1]) assert.not.ok(isPlainObject(value), String(value));
});

test("checkText accepts anything but NUL, including the empty string and newlines", () => {
  const { report, issues } = recorder();
  assert.is(checkText("", "f", report), "");
  assert.is(checkText("a\nb\tc", "f", report), "a\nb\tc");
  assert.is(checkText("a\0", "f", report), undefined);
  assert.is(checkText(1, "g", report), undefined);
  assert.equal(issues, ["f: contains a NUL character, which no process manager can pass on", "g: must be a string (got number 1)"]);
});

test("checkLine rejects empty strings and control characters, naming the character", () => {
  const { report, issues } = recorder();
  assert.is(checkLine("fine é", "f", report), "fine é");
  for (const bad of ["", "a\nb", "a\tb", "a\rb", "a\u007fb", "a\u0001b"]) assert.is(checkLine(bad, "f", report), undefined);
  assert.equal(issues, [
    "f: must not be empty",
    "f: contains a newline; it must be one line without control characters",
    "f: contains a tab; it must be one line without control characters",
    "f: contains a carriage return; it must be one line without control characters",
    "f: contains a DEL; it must be one line without control characters",
    "f: contains a control character 0x01; it must be one line without control characters",
  ]);
  assert.is(controlCharName("plain"), "");
});

test("checkStringArray reports every bad element by index", () => {
  const { report, issues } = recorder();
  assert.equal(checkStringArray(["a", ""], "args", report), ["a", ""]);
  assert.is(checkStringArray(["a", 1, null], "args", report), undefined);
  assert.is(checkStringArray("a", "args", report), undefined);
  assert.equal(issues, [
    "args[1]: must be a string (got number 1)",
    "args[2]: must be a string (got null)",
    'args: must be a list of strings (got string "a")',
  ]);
});

test("checkNumber: types, integers, bounds and units", () => {
  const { report, issues } = recorder();
  const range = { min: 0, max: 10, exclusiveMin: true, unit: "seconds" };
  assert.is(checkNumber(10, "t", report, range), 10);
  assert.is(checkNumber(0.001, "t", report, range), 0.001);
  assert.is(checkNumber(0, "t", report, range), undefined);
  assert.is(checkNumber(10.5, "t", report, range), undefined);
  assert.is(checkNumber(Number.NaN, "t", report, range), undefined);
  assert.is(checkNumber(Number.POSITIVE_INFINITY, "t", report, range), undefined);
  assert.is(checkNumber(2.5, "n", report, { min: 1, max: 3, integer: true }), undefined);
  assert.is(checkNumber(1, "n", report, { min: 1, max: 3, integer: true }), 1);
  assert.equal(issues, [
    "t: must be a number greater than 0 and at most 10 seconds (got 0)",
    "t: must be a number greater than 0 and at most 10 seconds (got 10.5)",
    "t: must be a number of seconds (got number NaN)",
    "t: must be a number of seconds (got number Infinity)",
    "n: must be an integer (got number 2.5)",
  ]);
});

test("checkKnownKeys suggests the closest known field, or lists them all", () => {
  const { report, issues } = recorder();
  checkKnownKeys({ port: 1, hots: "x", colour: 1 }, ["port", "host"], "readiness.tcp", report);
  checkKnownKeys({ Name: "x" }, ["name", "description"], "", report);
  assert.equal(issues, [
    "readiness.tcp.hots: unknown field (did you mean host?)",
    "readiness.tcp.colour: unknown field (known: port, host)",
    "Name: unknown field (did you mean name?)",
  ]);
});

test("IssueList names the process, or none for model-wide issues", () => {
  const list = new IssueList();
  list.forProcess("web")("nice", "bad");
  list.forProcess(undefined)("x", "y");
  list.add({ message: "whole model" });
  assert.equal(list.issues, [{ process: "web", field: "nice", message: "bad" }, { field: "x", message: "y" }, { message: "whole model" }]);
});

test.run();
