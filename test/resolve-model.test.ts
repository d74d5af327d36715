// load → normalize → cycle check, as one call.
import { test } from "uvu";
import * as assert from "uvu/assert";
import path from "node:path";
import { ModelError, formatIssue } from "../src/errors.js";
import { resolveModel, resolveModelFile } from "../src/resolve-model.js";
import { CONTEXT, MODULE } from "./helpers/model.js";
import { MANY_PROBLEMS, MANY_PROBLEMS_FILE } from "./helpers/expected.js";
import { fixture } from "./helpers/paths.js";

test("resolveModelFile reports every problem of a file at once, naming the file", async () => {
  const file = MANY_PROBLEMS_FILE;
  try {
    await resolveModelFile(file, { stateDir: "/srv/st" });
    assert.unreachable("resolved");
  } catch (error) {
    assert.instance(error, ModelError);
    const modelError = error as ModelError;
    assert.is(modelError.file, file);
    assert.equal(modelError.issues.map(formatIssue), MANY_PROBLEMS);
    assert.is(modelError.message.split("\n")[0], `${file}: ${MANY_PROBLEMS.length} problems`);
    assert.equal(modelError.message.split("\n").slice(1), MANY_PROBLEMS.map((issue) => `  - ${issue}`));
  }
});

test("resolveModelFile: modelDir is the file's directory; stateDir comes from the options", async () => {
  const file = fixture("loader/yaml-list/processes.yaml");
  const model = await resolveModelFile(path.relative(process.cwd(), file), { stateDir: "/srv/st", processManager: "supervisord" });
  assert.is(model.context.modelDir, path.dirname(file));
  assert.is(model.context.stateDir, "/srv/st");
  assert.is(model.context.processManager, "supervisord");
  assert.is(model.context.forceDisableUserChange, false);
});

test("resolveModel: the file, when given, heads the message", () => {
  try {
    resolveModel({ a: { process: "x", activatesAfter: ["a"] } }, CONTEXT, MODULE, "my/processes.ts");
    assert.unreachable("resolved");
  } catch (error) {
    assert.is((error as ModelError).message, "my/processes.ts: 1 problem\n  - a: activatesAfter: dependency cycle: a -> a");
  }
});

test.run();
