// The loader: TS/JS modules through jiti (with `procman` aliased to this procman), YAML and JSON;
// every failure is a LoadError naming the file and, where there is one, the line.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { LoadError, ModelError } from "../../src/errors.js";
import { loadModel } from "../../src/loader/load-model.js";
import { createContext } from "../../src/model/context.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { resolveModelFile } from "../../src/resolve-model.js";
import { fixture } from "../helpers/paths.js";
import { makeTempDir, tempDirWith } from "../helpers/tmp.js";

const STATE = "/srv/loader-state";
const contextFor = (file: string) => createContext({ stateDir: STATE, modelDir: path.dirname(path.resolve(file)) });
const load = (file: string) => loadModel(file, contextFor(file));

/** The LoadError that loading `file` must throw. */
async function loadError(file: string): Promise<LoadError> {
  try {
    await load(file);
  } catch (error) {
    if (error instanceof LoadError) return error;
    throw error;
  }
  assert.unreachable(`${file} loaded, but it should have failed`);
  throw new Error("unreachable");
}

// ---- failures ----

test("TS syntax error: LoadError with the file and line", async () => {
  const file = fixture("loader/syntax-error/processes.ts");
  const error = await loadError(file);
  assert.is(error.code, "ELOAD");
  assert.is(error.exitCode, 2);
  assert.is(error.file, file);
  assert.is(error.line, 6);
  assert.ok(error.message.startsWith(`${file}:6:`), error.message);
  assert.match(error.message, "syntax error: ");
});

test("a model that throws at top level: the thrown message and its line", async () => {
  const file = fixture("loader/throws/processes.ts");
  const error = await loadError(file);
  assert.is(error.line, 5);
  assert.is(error.message, `${file}:5:9: the model failed to load: PORT is not configured`);
  assert.instance(error.cause, Error);
});

test("a model function that throws: the thrown message and its line", async () => {
  const file = fixture("loader/throws-in-function/processes.ts");
  const error = await loadError(file);
  assert.is(error.line, 5);
  assert.is(error.message, `${file}:5:9: the model function threw: cannot read ${STATE}/secrets`);
});

test("a module without a default export", async () => {
  const file = fixture("loader/no-default/processes.ts");
  const error = await loadError(file);
  assert.is(error.message, `${file}: the model has no default export; export default a mapping, a list or a function of the context`);
  assert.is(error.line, undefined);
});

test("a module exporting something that is not a model loads, and validation rejects it", async () => {
  const file = fixture("loader/wrong-shape/processes.ts");
  assert.is((await load(file)).exported, "webapp");
  try {
    await resolveModelFile(file, { stateDir: STATE });
    assert.unreachable("resolved");
  } catch (error) {
    assert.instance(error, ModelError);
    assert.is(
      (error as ModelError).message,
      `${file}: 1 problem\n  - the model must be a mapping from name to process, a list of processes, or a function returning one (got string "webapp")`,
    );
  }
});

test("export default null is rejected as not a model (not a loader crash)", async () => {
  const file = fixture("loader/export-null/processes.ts");
  assert.is((await load(file)).exported, null);
  try {
    await resolveModelFile(file, { stateDir: STATE });
    assert.unreachable("resolved");
  } catch (error) {
    assert.instance(error, ModelError);
    assert.match((error as ModelError).message, "(got null)");
  }
});

test("YAML that is a scalar, not a mapping", async () => {
  const file = fixture("loader/yaml-not-mapping/processes.yaml");
  const error = await loadError(file);
  assert.is(error.message, `${file}: the model must be a mapping from name to process or a list of processes (got string)`);
});

test("YAML syntax error: file and line", async () => {
  const file = fixture("loader/yaml-syntax-error/processes.yaml");
  const error = await loadError(file);
  assert.is(error.line, 3);
  assert.ok(error.message.startsWith(`${file}:3:23: syntax error: Unexpected flow-seq-end token`), error.message);
  assert.not.match(error.message, "\n");
});

test("JSON duplicate key: a syntax error at the second key (JSON.parse would drop the first)", async () => {
  const file = fixture("loader/json-duplicate-key/processes.json");
  const error = await loadError(file);
  assert.is(error.line, 4);
  assert.is(error.message, `${file}:4:3: syntax error: Map keys must be unique`);
});

test("JSON syntax error: file and line", async () => {
  const file = fixture("loader/json-syntax-error/processes.json");
  const error = await loadError(file);
  assert.is(error.line, 4);
  assert.ok(error.message.startsWith(`${file}:4:`), error.message);
});

test("an empty YAML file, and one with only a comment", async () => {
  for (const name of ["empty.yaml", "comment-only.yaml"]) {
    const file = fixture("loader", name);
    assert.is((await loadError(file)).message, `${file}: the model is empty`);
  }
});

test("an unsupported extension", async () => {
  const file = fixture("loader/unsupported/processes.txt");
  const error = await loadError(file);
  assert.is(error.message, `${file}: unsupported model file type ".txt"; use one of .ts, .mts, .js, .mjs, .json, .yaml, .yml`);
  const none = await loadError(fixture("loader/unsupported/processes"));
  assert.match(none.message, 'unsupported model file type "(none)"');
});

test("a missing file, and a directory", async () => {
  const missing = fixture("loader/does-not-exist/processes.ts");
  assert.not.ok(existsSync(missing));
  assert.is((await loadError(missing)).message, `${missing}: no such file`);
  const dir = path.join(makeTempDir(), "model.yaml");
  (await import("node:fs")).mkdirSync(dir);
  assert.is((await loadError(dir)).message, `${dir}: is a directory; give the model file (.ts, .mts, .js, .mjs, .json, .yaml, .yml)`);
  // A directory holding a model: the message points at it.
  const examples = fixture("loader/function");
  assert.is((await loadError(examples)).message, `${examples}: is a directory; give the model file (${path.join(examples, "processes.ts")}?)`);
});

test("a FIFO in place of the model: not a regular file, and no hang", async () => {
  const fifo = path.join(makeTempDir(), "model.yaml");
  assert.is(spawnSync("mkfifo", [fifo]).status, 0);
  assert.is((await loadError(fifo)).message, `${fifo}: not a regular file`);
});

// ---- models that never finish, or exit ----

test("a model whose promise never settles and nothing else is scheduled: refused at once, naming the file", async () => {
  const file = fixture("loader/never-settles/processes.mjs");
  const error = await loadError(file);
  assert.is(error.exitCode, 2);
  assert.is(error.message, `${file}: the model never finished loading: its promise is still pending with nothing left that could settle it`);
});

test("a model still pending while it keeps work scheduled: refused after the load timeout", async () => {
  const file = fixture("loader/never-settles-busy/processes.mjs");
  let error: unknown;
  try {
    await loadModel(file, contextFor(file), { timeoutSeconds: 0.5 });
  } catch (caught) {
    error = caught;
  }
  assert.instance(error, LoadError);
  assert.is((error as LoadError).message, `${file}: the model did not finish loading within 0.5 s (--load-timeout)`);
});

for (const [name, code] of [["exits", "0"], ["exits-caught", "3"], ["exits-in-function", "0"]] as const) {
  test(`process.exit while the model loads (${name}) is intercepted: a LoadError naming the file`, async () => {
    const file = fixture(`loader/${name}/processes.mjs`);
    const error = await loadError(file);
    assert.is(error.exitCode, 2);
    assert.is(error.message, `${file}: the model called process.exit(${code}) while loading; a model must export its processes, not exit`);
    assert.is(process.exit.name, "exit", "the real process.exit is back");
  });
}

// ---- getters and proxies run here, not in normalization ----

test("a getter that throws: a LoadError naming the file and the property", async () => {
  const top = fixture("loader/getter-throws/processes.mjs");
  assert.is((await loadError(top)).message, `${top}: reading "web" threw: no web today`);
  const nested = fixture("loader/getter-throws-nested/processes.ts");
  assert.is((await loadError(nested)).message, `${nested}: reading "web.args" threw: ARGS is not set`);
});

test("the export is copied into plain data: shared objects stay shared, getters are read once", async () => {
  const dir = tempDirWith({
    "processes.mjs": `
      let reads = 0;
      const db = { name: "db", process: "/bin/db", get args() { reads += 1; if (reads > 1) throw new Error("read twice"); return ["-v"]; } };
      export default { db, web: { process: "/bin/web", activatesAfter: [db] } };`,
  });
  const file = path.join(dir, "processes.mjs");
  const model = await resolveModelFile(file, { stateDir: STATE });
  assert.equal(model.processes.find((spec) => spec.name === "db")!.foreground!.args, ["-v"]);
  assert.equal(model.processes.find((spec) => spec.name === "web")!.activatesAfter, ["db"]);
});

test("the file is named as the user gave it (relative stays relative)", async () => {
  const relative = path.relative(process.cwd(), fixture("loader/throws/processes.ts"));
  const error = await loadError(relative);
  assert.is(error.file, relative);
  assert.ok(error.message.startsWith(`${relative}:5:9: `), error.message);
});

// ---- what loads ----

test("a function export is called with the context", async () => {
  const file = fixture("loader/function/processes.ts");
  const loaded = await load(file);
  assert.is(loaded.kind, "module");
  assert.is(loaded.file, file);
  const environment = (loaded.exported as { probe: { environment: Record<string, string> } }).probe.environment;
  assert.equal(environment, {
    STATE_DIR: STATE,
    RUNTIME_DIR: `${STATE}/run`,
    LOG_DIR: `${STATE}/log`,
    TMP_DIR: `${STATE}/tmp`,
    CACHE_DIR: `${STATE}/cache`,
    MODEL_DIR: path.dirname(file),
    PROCESS_MANAGER: "direct",
    FORCE_DISABLE_USER_CHANGE: "false",
    FROZEN: "true",
    ARGUMENTS: "1",
  });
});

test("the context passed on carries the options given to resolveModelFile", async () => {
  const file = fixture("loader/function/processes.ts");
  const model = await resolveModelFile(file, { stateDir: "/var", processManager: "systemd", forceDisableUserChange: true });
  const environment = model.processes[0]!.environment;
  assert.is(environment.STATE_DIR, "/var");
  assert.is(environment.TMP_DIR, "/tmp");
  assert.is(environment.PROCESS_MANAGER, "systemd");
  assert.is(environment.FORCE_DISABLE_USER_CHANGE, "true");
  assert.is(model.context.processManager, "systemd");
});

test("an async function export", async () => {
  const file = fixture("loader/async-function/processes.mts");
  const model = await resolveModelFile(file, { stateDir: STATE });
  assert.equal(
    model.processes.map((process) => [process.name, process.pidFile, process.activatesAfter]),
    [
      ["db", `${STATE}/run/database.pid`, []],
      ["web", `${STATE}/run/web.pid`, ["db"]],
    ],
  );
});

test("an array export, with dependencies given as objects", async () => {
  const model = await resolveModelFile(fixture("loader/array/processes.ts"), { stateDir: STATE });
  assert.equal(
    model.processes.map((process) => [process.name, process.activatesAfter]),
    [
      ["db", []],
      ["web", ["db"]],
    ],
  );
});

test("a YAML list", async () => {
  const file = fixture("loader/yaml-list/processes.yaml");
  const loaded = await load(file);
  assert.is(loaded.kind, "data");
  assert.ok(Array.isArray(loaded.exported));
  const model = await resolveModelFile(file, { stateDir: STATE });
  assert.equal(
    model.processes.map((process) => [process.name, process.activatesAfter]),
    [
      ["db", []],
      ["web", ["db"]],
    ],
  );
});

test("a TS model may import its own helper modules", async () => {
  const model = await resolveModelFile(fixture("loader/relative-import/processes.ts"), { stateDir: STATE });
  assert.equal(model.processes[0]!.foreground!.args, ["--port", "8080"]);
});

test(".mts, .js, .mjs, .json and .yml all load, to the same model", async () => {
  const resolved: (readonly [string, ResolvedModel])[] = [];
  for (const extension of ["mts", "js", "mjs", "json", "yml"]) {
    const file = fixture("loader/formats", `model.${extension}`);
    const loaded = await load(file);
    assert.is(loaded.kind, extension === "json" || extension === "yml" ? "data" : "module", extension);
    const model = await resolveModelFile(file, { stateDir: STATE });
    assert.is(model.processes[0]!.environment.MODE, extension, "each file is really read");
    resolved.push([extension, model] as const);
  }
  const withoutMode = (model: ResolvedModel): unknown =>
    JSON.parse(JSON.stringify(model), (key, value) => (key === "MODE" ? undefined : value));
  const [first, ...rest] = resolved;
  for (const [extension, model] of rest) assert.equal(withoutMode(model), withoutMode(first![1]), `${extension} differs from mts`);
  const web = first![1].processes[1]!;
  assert.equal(web.foreground, { executable: fixture("loader/formats/bin/web"), args: ["--db", "db"] });
  assert.is(first![1].processes[0]!.pidFile, `${STATE}/run/db.pid`);
});

test('a model anywhere on disk can `import ... from "procman"` with no node_modules near it', async () => {
  const dir = tempDirWith({
    "deep/er/processes.ts": [
      'import { createManagedProcess, defineProcesses } from "procman";',
      "",
      "export default defineProcesses(({ runtimeDir }) => {",
      '  const db = createManagedProcess({ name: "db", process: "/bin/db", pidFile: `${runtimeDir}/db.pid` });',
      '  const web = createManagedProcess({ name: "web", process: "/bin/web", activatesAfter: [db] });',
      "  return { db, web };",
      "});",
      "",
    ].join("\n"),
  });
  // Nothing between the model and the root could provide a `procman` package.
  for (let at = path.join(dir, "deep/er"); at !== path.dirname(at); at = path.dirname(at)) {
    assert.not.ok(existsSync(path.join(at, "node_modules")), `${at}/node_modules exists`);
  }
  const model = await resolveModelFile(path.join(dir, "deep/er/processes.ts"), { stateDir: STATE });
  assert.equal(
    model.processes.map((process) => [process.name, process.activatesAfter]),
    [
      ["db", []],
      ["web", ["db"]],
    ],
  );
  assert.is(model.context.modelDir, path.join(dir, "deep/er"));
});

test("a changed model file is read again (no module cache between loads)", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "processes.ts");
  writeFileSync(file, 'export default { web: { process: "/bin/one" } };\n');
  assert.equal((await load(file)).exported, { web: { process: "/bin/one" } });
  writeFileSync(file, 'export default { web: { process: "/bin/two" } };\n');
  assert.equal((await load(file)).exported, { web: { process: "/bin/two" } });
});

test("module models key by variable names; data models must match names to keys", async () => {
  const dir = tempDirWith({
    "m.ts": 'export default { web: { name: "webapp", process: "/bin/web" } };\n',
    "d.yaml": "web:\n  name: webapp\n  process: /bin/web\n",
  });
  const model = await resolveModelFile(path.join(dir, "m.ts"), { stateDir: STATE });
  assert.is(model.processes[0]!.name, "webapp");
  try {
    await resolveModelFile(path.join(dir, "d.yaml"), { stateDir: STATE });
    assert.unreachable("resolved");
  } catch (error) {
    assert.instance(error, ModelError);
    assert.equal((error as ModelError).issues, [
      { process: "web", field: "name", message: '"webapp" differs from its key "web"; leave it out or make them equal' },
    ]);
  }
});

test.run();
