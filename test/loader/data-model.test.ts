// YAML and JSON models: parsing with line numbers, and `${contextKey}` substitution.
import { test } from "uvu";
import * as assert from "uvu/assert";
import path from "node:path";
import { LoadError } from "../../src/errors.js";
import { parseDataModel, substitute } from "../../src/loader/data-model.js";
import { resolveModelFile } from "../../src/resolve-model.js";
import { CONTEXT, parseError } from "../helpers/data-model.js";
import { fixture } from "../helpers/paths.js";


test("a YAML mapping and a JSON list parse to plain data", async () => {
  assert.equal(await parseDataModel("web:\n  process: /bin/web\n  args: [-v, '']\n", "m.yaml", CONTEXT), {
    web: { process: "/bin/web", args: ["-v", ""] },
  });
  assert.equal(await parseDataModel('[{"name": "web", "process": "/bin/web", "nice": 5}]', "m.json", CONTEXT), [
    { name: "web", process: "/bin/web", nice: 5 },
  ]);
});

test("context references are replaced in every string, keys are not", async () => {
  const text = [
    "app:",
    "  process: ${modelDir}/bin/app",
    "  args: ['${stateDir}', '${runtimeDir}', '${logDir}', '${tmpDir}', '${cacheDir}', '${modelDir}', 'x${stateDir}y${stateDir}z']",
    "  environment: { '${stateDir}': '${logDir}/app.log' }",
    "  overrides: { direct: { nested: [{ deep: '${cacheDir}' }] } }",
  ].join("\n");
  assert.equal(await parseDataModel(text, "m.yaml", CONTEXT), {
    app: {
      process: "/srv/model/bin/app",
      args: ["/srv/st", "/srv/st/run", "/srv/st/log", "/srv/st/tmp", "/srv/st/cache", "/srv/model", "x/srv/sty/srv/stz"],
      environment: { "${stateDir}": "/srv/st/log/app.log" },
      overrides: { direct: { nested: [{ deep: "/srv/st/cache" }] } },
    },
  });
});

test("$${name} writes a literal ${name}; every other $ is left alone", () => {
  const cases: [string, string][] = [
    ["$${stateDir}", "${stateDir}"],
    ["$${runtimeDir}/x", "${runtimeDir}/x"],
    ["$$${stateDir}", "$${stateDir}"],
    ["$HOME", "$HOME"],
    ["${HOME}", "${HOME}"],
    ["$${HOME}", "$${HOME}"],
    ["${unknownKey}", "${unknownKey}"],
    ["${statedir}", "${statedir}"],
    ["${ stateDir }", "${ stateDir }"],
    ["$$", "$$"],
    ["$", "$"],
    ["100% $1 $@ $(id) `id`", "100% $1 $@ $(id) `id`"],
    ["{stateDir}", "{stateDir}"],
    ["$stateDir", "$stateDir"],
  ];
  for (const [input, expected] of cases) assert.is(substitute(input, CONTEXT), expected, input);
});

test("substitute leaves numbers, booleans and null as they are", () => {
  assert.equal(substitute({ a: 1, b: true, c: null, d: ["${tmpDir}", 2] }, CONTEXT), { a: 1, b: true, c: null, d: ["/srv/st/tmp", 2] });
});

test("YAML types are kept: numbers stay numbers, so validation can reject them", async () => {
  assert.equal(await parseDataModel("a:\n  umask: 022\n  nice: 5\n  environment: { PORT: 5000 }\n", "m.yaml", CONTEXT), {
    a: { umask: 22, nice: 5, environment: { PORT: 5000 } },
  });
});

test("syntax errors name the file, line and column", async () => {
  const error = await parseError("web:\n  process: /bin/web\n\targs: x\n");
  assert.is(error.line, 3);
  assert.is(error.message, "m.yaml:3:1: syntax error: Tabs are not allowed as indentation");
  const json = await parseError('{\n  "a": 1,\n  "a": 2\n}\n', "m.json");
  assert.is(json.message, "m.json:3:3: syntax error: Map keys must be unique");
});

test("duplicate keys inside a process are rejected too", async () => {
  const error = await parseError("web:\n  process: /bin/web\n  process: /bin/other\n");
  assert.is(error.message, "m.yaml:3:3: syntax error: Map keys must be unique");
});

test("scalars and empty documents are not models", async () => {
  assert.is((await parseError("hello\n")).message, "m.yaml: the model must be a mapping from name to process or a list of processes (got string)");
  assert.is((await parseError("42\n")).message, "m.yaml: the model must be a mapping from name to process or a list of processes (got number)");
  assert.is((await parseError("")).message, "m.yaml: the model is empty");
  assert.is((await parseError("~\n")).message, "m.yaml: the model is empty");
  assert.is((await parseError("null")).message, "m.yaml: the model is empty");
});

test("a substitution fixture resolves through the whole pipeline", async () => {
  const file = fixture("loader/substitution/processes.yaml");
  const model = await resolveModelFile(file, { stateDir: "/srv/st" });
  const app = model.processes[0]!;
  const dir = path.dirname(file);
  assert.is(app.foreground!.executable, `${dir}/bin/app`);
  assert.equal(app.foreground!.args, [
    "--state=/srv/st",
    "--run=/srv/st/run/app.sock",
    "--logs=/srv/st/log",
    "--tmp=/srv/st/tmp",
    "--cache=/srv/st/cache",
    "literal ${stateDir} stays",
    "$HOME ${HOME} $$ $ ${unknownKey} $${HOME} 100%",
    "/srv/st/srv/st",
  ]);
  assert.is(app.environment.DATA, "/srv/st/data");
  assert.is(app.environment.RAW, "${runtimeDir}");
});

test("a billion-laughs alias bomb is refused", async () => {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) lines.push(`${"abcdefgh"[i]}: &${"abcdefgh"[i]} [${Array(10).fill(`*${"abcdefgh"[i - 1]}`).join(", ")}]`);
  const error = await parseDataModel(lines.join("\n"), "bomb.yaml", CONTEXT).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, LoadError);
  assert.is((error as LoadError).message, "bomb.yaml: Excessive alias count indicates a resource exhaustion attack");
});

test("a .json model: JSON.parse's value, a duplicate key anywhere found, escaped keys decoded", async () => {
  const text = JSON.stringify({
    "a,b": { process: "/bin/x", args: ["{", "}", "[", "]", ",", '"', "\\"], environment: { K: "v", "K\"": "w" } },
    c: { process: "/bin/y", overrides: { direct: [{ a: 1 }, { a: 2 }] } },
  });
  assert.equal(await parseDataModel(text, "m.json", CONTEXT), JSON.parse(text));
  // The same key spelt with an escape is the same key; a repeat deep inside a list is found too.
  assert.is((await parseError('{"web": {"process": "/a", "\\u0070rocess": "/b"}}', "m.json")).message, "m.json:1:27: syntax error: Map keys must be unique");
  assert.match((await parseError('[{"name": "w", "x": [{"k": 1, "k": 2}]}]', "m.json")).message, /^m\.json:1:\d+: syntax error: Map keys must be unique$/);
  // Equal keys in different objects are no repeat.
  assert.equal(await parseDataModel('{"a": {"k": 1}, "b": {"k": 1}}', "M.JSON", CONTEXT), { a: { k: 1 }, b: { k: 1 } });
});

test("a .json model that JSON.parse refuses still gets the YAML parser's line and column", async () => {
  const error = await parseError('{\n  "web": {"process": "/a",,}\n}\n', "m.json");
  assert.match(error.message, /^m\.json:2:\d+: syntax error: /);
  assert.is((await parseError("", "m.json")).message, "m.json: the model is empty");
  assert.is((await parseError("null", "m.json")).message, "m.json: the model is empty");
  assert.match((await parseError("5", "m.json")).message, /got number/);
});

test("10,000 processes in JSON parse in well under a second", async () => {
  const model = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { process: "/bin/sleep", args: ["1000"], environment: { A: "${stateDir}" } }]));
  const started = performance.now();
  const parsed = (await parseDataModel(JSON.stringify(model), "m.json", CONTEXT)) as Record<string, { environment: { A: string } }>;
  assert.is(parsed.p9999!.environment.A, "/srv/st");
  assert.ok(performance.now() - started < 1000, "linear, not the YAML parser's pace");
});

test.run();
