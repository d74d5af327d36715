// The bundle that package.json's bin names (scripts/bundle.mjs → dist/bundle): it runs without
// the sources, prints the version, loads JSON and TS models, and `import ... from "procman"` in a
// TS model resolves to this bundle's own library entry, not to a `procman` package near the model.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../helpers/paths.js";
import { makeTempDir } from "../helpers/tmp.js";

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string; bin: { procman: string } };
const BIN = path.join(ROOT, pkg.bin.procman);

function run(args: string[], cwd = "/") {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first with \`npm run build\``);
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // no tsx: the bundle must stand alone
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: "utf8", timeout: 60_000 });
}

test("package.json's bin is the bundle, and it prints the version", () => {
  assert.match(pkg.bin.procman, /dist\/bundle\/bin\.js$/);
  for (const flag of ["--version", "-V"]) {
    const result = run([flag]);
    assert.is(result.status, 0, result.stderr);
    assert.is(result.stdout, `${pkg.version}\n`);
  }
});

test("a TS model far from any procman package imports this bundle's procman; a decoy package near it is not used", () => {
  const dir = makeTempDir();
  const modelDir = path.join(dir, "deep");
  mkdirSync(path.join(dir, "node_modules", "procman"), { recursive: true });
  writeFileSync(path.join(dir, "node_modules", "procman", "package.json"), JSON.stringify({ name: "procman", version: "9.9.9", type: "module", main: "index.js" }));
  writeFileSync(path.join(dir, "node_modules", "procman", "index.js"), 'throw new Error("the decoy procman was imported");\n');
  mkdirSync(modelDir);
  writeFileSync(
    path.join(modelDir, "processes.ts"),
    [
      'import { createManagedProcess, defineProcesses } from "procman";',
      "export default defineProcesses(() => {",
      '  const db = createManagedProcess({ name: "db", process: "/bin/sleep", args: ["1"] });',
      '  const web = createManagedProcess({ name: "web", process: "/bin/sleep", args: ["1"], activatesAfter: [db] });',
      "  return { db, web };",
      "});",
      "",
    ].join("\n"),
  );
  const result = run(["validate", path.join(modelDir, "processes.ts")]);
  assert.is(result.status, 0, result.stdout + result.stderr);
  assert.not.match(result.stderr, "decoy");
});

test("a JSON model with a repeated key is refused with its line (exit 2)", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "m.json");
  writeFileSync(file, '{\n  "a": {"process": "/bin/true"},\n  "a": {"process": "/bin/false"}\n}\n');
  const result = run(["validate", file]);
  assert.is(result.status, 2, result.stdout + result.stderr);
  assert.match(result.stderr, `${file}:3:3`);
});

test("the YAML parser is loaded for a YAML model, not for a JSON one", () => {
  const dir = makeTempDir();
  // Records every require of the run (the bundle's cli.js requires its yaml.js sibling by name).
  const hook = path.join(dir, "loads.cjs");
  writeFileSync(hook, 'const M = require("node:module"); const load = M._load; const seen = [];\nM._load = function (request, ...rest) { seen.push(request); return load.call(this, request, ...rest); };\nprocess.on("exit", () => require("node:fs").writeFileSync(process.env.LOADS_FILE, seen.join("\\n")));\n');
  const loads = (model: string) => {
    const file = path.join(dir, `${path.basename(model)}.loads`);
    const env: NodeJS.ProcessEnv = { ...process.env, LOADS_FILE: file };
    delete env.NODE_OPTIONS;
    const result = spawnSync(process.execPath, ["--require", hook, BIN, "validate", model], { cwd: "/", env, encoding: "utf8", timeout: 60_000 });
    assert.is(result.status, 0, result.stdout + result.stderr);
    return readFileSync(file, "utf8").split("\n");
  };
  const json = path.join(dir, "m.json");
  writeFileSync(json, JSON.stringify({ a: { process: "/bin/true" } }));
  const yaml = path.join(dir, "m.yaml");
  writeFileSync(yaml, "a:\n  process: /bin/true\n");
  assert.ok(loads(yaml).some((request) => request.endsWith("yaml.js")), "the YAML model loaded yaml.js");
  assert.not.ok(loads(json).some((request) => request.endsWith("yaml.js")), "the JSON model loaded yaml.js");
});

test("the bundle's supervisor is its own CommonJS file: it runs, restarts a killed process, and ends with stop", async () => {
  const dir = makeTempDir();
  const stateDir = path.join(dir, "state");
  const model = path.join(dir, "m.json");
  writeFileSync(model, JSON.stringify({ s: { process: "/bin/sleep", args: ["1000"], restart: { policy: "always", delay: 0.05 } } }));
  const status = () => JSON.parse(run(["status", "--json", "--state-dir", stateDir]).stdout) as { supervisor: { running: boolean; pid: number | null }; processes: { pid: number | null; state: string }[] };
  const switched = run(["switch", model, "--state-dir", stateDir]);
  try {
    assert.is(switched.status, 0, switched.stdout + switched.stderr);
    const first = status();
    assert.ok(first.supervisor.running, "the supervisor runs");
    const cmdline = readFileSync(`/proc/${first.supervisor.pid}/cmdline`, "utf8").split("\0");
    assert.ok(cmdline.includes(path.join(ROOT, "dist", "bundle", "supervisor.cjs")), cmdline.join(" "));
    const victim = first.processes[0]!.pid!;
    process.kill(victim, "SIGKILL");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = status().processes[0]!;
      if (now.state === "running" && now.pid !== victim) break;
      if (Date.now() > deadline) assert.unreachable(`not restarted: ${JSON.stringify(now)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    const stopped = run(["stop", "--state-dir", stateDir]);
    assert.is(stopped.status, 0, stopped.stdout + stopped.stderr);
  }
  assert.not.ok(status().supervisor.running, "stop ends the supervisor");
});

test.run();
