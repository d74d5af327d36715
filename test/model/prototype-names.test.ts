// Processes named like Object.prototype's keys, from a JSON model (where "__proto__" is an own
// key) through normalization, the plan, the generators and the supervisor's status file.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateLaunchd } from "../../generators/launchd.js";
import { generateSupervisord } from "../../generators/supervisord.js";
import { generateSystemd } from "../../generators/systemd.js";
import { generateSysvinit } from "../../generators/sysvinit.js";
import { parseDataModel } from "../../src/loader/data-model.js";
import { snapshotExport } from "../../src/loader/snapshot.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { planSwitch } from "../../src/plan/plan.js";
import { supervisorPaths } from "../../src/supervisor/paths.js";
import { readSupervision, readSupervisionFile } from "../../src/supervisor/status-file.js";
import { CONTEXT, DATA, MODULE, resolve } from "../helpers/model.js";
import { PROTOTYPE_NAMES } from "../helpers/prototype-names.js";
import { makeTempDir } from "../helpers/tmp.js";

/** Every prototype name, each after the one before it. */
const JSON_MODEL = JSON.stringify(
  Object.fromEntries(PROTOTYPE_NAMES.map((name, index) => [name, { process: "/bin/sleep", activatesAfter: PROTOTYPE_NAMES.slice(index - 1, index) }])),
);

async function dataModel(): Promise<ResolvedModel> {
  return resolve(await parseDataModel(JSON_MODEL, "m.json", CONTEXT), DATA);
}

test("a JSON model: every prototype name is a process, with its dependency", async () => {
  const model = await dataModel();
  assert.equal(model.processes.map(({ name }) => name), PROTOTYPE_NAMES);
  assert.equal(model.processes.map(({ activatesAfter }) => activatesAfter), PROTOTYPE_NAMES.map((_, index) => PROTOTYPE_NAMES.slice(index - 1, index)));
});

test("a YAML model keyed by __proto__", async () => {
  const model = resolve(await parseDataModel("__proto__:\n  process: /bin/sleep\nweb:\n  process: /bin/sleep\n  activatesAfter: [__proto__]\n", "m.yaml", CONTEXT), DATA);
  assert.equal(model.processes.map(({ name, activatesAfter }) => [name, activatesAfter]), [["__proto__", []], ["web", ["__proto__"]]]);
});

test("a module's export keyed by __proto__ survives the snapshot", () => {
  const exported: Record<string, unknown> = {};
  Object.defineProperty(exported, "__proto__", { value: { process: "/bin/sleep" }, enumerable: true });
  const copy = snapshotExport(exported, "m.ts") as object;
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal(Object.keys(copy), ["__proto__"]);
  assert.equal(resolve(copy, MODULE).processes.map(({ name }) => name), ["__proto__"]);
});

test("an environment variable called __proto__ is kept", () => {
  const environment = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
  const spec = resolve({ web: { process: "/bin/sleep", environment } }).processes[0]!;
  assert.equal(Object.entries(spec.environment).filter(([key]) => key !== "PATH"), [["__proto__", "x"], ["constructor", "y"]]);
});

test("plan: every prototype name starts, in dependency order", async () => {
  const model = await dataModel();
  const plan = planSwitch(model, new Map(), undefined);
  assert.equal(plan.start.map(({ name }) => name), PROTOTYPE_NAMES);
});

test("generators: every prototype name has its own files and names", async () => {
  const model = await dataModel();
  for (const generate of [generateSystemd, generateSupervisord, generateSysvinit, generateLaunchd]) {
    const output = generate(model);
    for (const record of [output.processFiles, output.names]) {
      assert.equal(Object.getPrototypeOf(record), Object.prototype, generate.name);
      assert.equal(Object.keys(record), PROTOTYPE_NAMES, generate.name);
    }
  }
});

test("the supervisor's status file: prototype names are entries, absent ones are not", () => {
  const stateDir = makeTempDir();
  const file = supervisorPaths(stateDir).status;
  mkdirSync(path.dirname(file), { recursive: true });
  const entry = { restarts: 2, lastExit: null, health: null, backoff: { consecutive: 0, recent: [] } };
  writeFileSync(file, `{"generation": 1, "processes": {"__proto__": ${JSON.stringify(entry)}}}`);
  const processes = readSupervisionFile(stateDir).processes;
  assert.equal(Object.keys(processes), ["__proto__"]);
  assert.is(processes.constructor, undefined, "no entry for constructor");
  processes["__proto__"] = { ...entry, restarts: 3 };
  assert.is(Object.keys(processes).length, 1);
  assert.equal([...readSupervision(stateDir).keys()], ["__proto__"]);
});

test.run();
