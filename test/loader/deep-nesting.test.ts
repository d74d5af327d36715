// Data models nested thousands deep: a LoadError naming the file and the path, not a stack overflow.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseDataModel } from "../../src/loader/data-model.js";
import { MAX_NESTING } from "../../src/model/nesting.js";
import { CONTEXT, parseError } from "../helpers/data-model.js";

const loadError = parseError;

const deepJson = (levels: number) => `{"a":{"process":"/bin/sleep","environment":${'{"x":'.repeat(levels)}1${"}".repeat(levels)}}}`;
const deepYaml = (levels: number) => `a:\n  process: /bin/sleep\n  environment: ${"{x: ".repeat(levels)}1${"}".repeat(levels)}\n`;

test("JSON nested 2000 deep: names the file and the field", async () => {
  const error = await loadError(deepJson(2000), "deep.json");
  assert.is(error.exitCode, 2);
  assert.is(error.message, `deep.json: "a.environment.x.x.x.x…" nests more than ${MAX_NESTING} levels deep; a model needs a few`);
});

test("JSON lists nested 200000 deep", async () => {
  const error = await loadError(`${"[".repeat(200_000)}${"]".repeat(200_000)}`, "deep.json");
  assert.match(error.message, /^deep\.json: "\[0\]\[0\]\[0\]\[0\]\[0\]\[0\]…" nests more than/);
});

test("YAML nested 500 deep: names the file and the field", async () => {
  const error = await loadError(deepYaml(500), "deep.yaml");
  assert.match(error.message, /^deep\.yaml: "a\.environment\.x\.x\.x\.x…" nests more than/);
});

test("YAML nested deeper than its parser can go: names the file, line and column", async () => {
  const error = await loadError(deepYaml(20_000), "deep.yaml");
  assert.match(error.message, /^deep\.yaml:3:\d+: syntax error: nested too deeply to parse/);
});

test("nested up to the limit is a model", async () => {
  // The process and its environment are two levels; the environment's values must be strings.
  const model = (await parseDataModel(deepJson(MAX_NESTING - 2), "ok.json", CONTEXT)) as { a: { environment: unknown } };
  assert.ok(typeof model.a.environment === "object");
});

test.run();
