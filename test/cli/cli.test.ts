// The command line, through the built binary: help, usage errors, validate and visualize, exit
// codes and what is printed where.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { BIN, procman, show } from "../helpers/cli.js";
import { dotAccepts } from "../helpers/dot.js";
import { MANY_PROBLEMS, MANY_PROBLEMS_FILE } from "../helpers/expected.js";
import { EXAMPLES, ROOT, fixture } from "../helpers/paths.js";
import { makeTempDir, tempDirWith } from "../helpers/tmp.js";
import { haveTool } from "../helpers/tools.js";

const COMMANDS = ["validate", "visualize", "switch", "stop", "status", "rollback", "generations", "generate", "logs", "up", "start", "restart", "reload", "startup"];
const WEBAPP_TS = path.join(EXAMPLES, "webapp", "processes.ts");
const WEBAPP_YAML = path.join(EXAMPLES, "webapp", "processes.yaml");
const rel = (file: string) => path.relative(ROOT, file);

/** A state dir that does not exist: commands that only read a model must not create it. */
const stateEnv = () => ({ PROCMAN_STATE_DIR: path.join(makeTempDir(), "state") });

const count = (text: string, part: string) => text.split(part).length - 1;

// ---- help and usage ----

test("--help: exit 0, usage with every command", async () => {
  const run = await procman(["--help"]);
  assert.is(run.code, 0, show(run));
  assert.ok(run.stdout.startsWith("Usage: procman [options] [command]\n"), show(run));
  for (const command of COMMANDS) assert.match(run.stdout, new RegExp(`\\n  ${command} `), `${command} missing from help`);
  assert.match(run.stdout, "Exit codes: 0 done, 1 operation failed");
  assert.is(run.stderr, "");
});

test("<command> --help for every command: exit 0 and its usage", async () => {
  const runs = await Promise.all(COMMANDS.map((command) => procman([command, "--help"])));
  runs.forEach((run, index) => {
    const command = COMMANDS[index]!;
    assert.is(run.code, 0, `${command}: ${show(run)}`);
    assert.ok(run.stdout.startsWith(`Usage: procman ${command} `), `${command}: ${show(run)}`);
    assert.match(run.stdout, "-h, --help", command);
    assert.is(run.stderr, "", command);
  });
});

test("help <command> prints the same usage", async () => {
  const [viaHelp, viaFlag] = await Promise.all([procman(["help", "validate"]), procman(["validate", "--help"])]);
  assert.is(viaHelp.code, 0, show(viaHelp));
  assert.is(viaHelp.stdout, viaFlag.stdout);
});

test("command help lists the contract's flags", async () => {
  const [validate, visualize, switchRun, logs] = await Promise.all([
    procman(["validate", "--help"]),
    procman(["visualize", "--help"]),
    procman(["switch", "--help"]),
    procman(["logs", "--help"]),
  ]);
  assert.match(validate.stdout, "Usage: procman validate [options] <model>");
  assert.match(validate.stdout, "--json");
  assert.match(visualize.stdout, "Usage: procman visualize [options] [model]");
  assert.match(visualize.stdout, /--format <format>\s+output format \(choices: "dot", "svg"/);
  for (const flag of ["-P, --process-manager <manager>", "--state-dir <dir>", "--force-disable-user-change", "--dry-run", "--json"]) {
    assert.match(switchRun.stdout, flag, `switch --help lacks ${flag}`);
  }
  for (const flag of ["--state-dir <dir>", "-f, --follow", "-n, --lines <n>"]) assert.match(logs.stdout, flag, `logs --help lacks ${flag}`);
});

test("--version prints the package version", async () => {
  const run = await procman(["--version"]);
  assert.is(run.code, 0, show(run));
  const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.is(run.stdout, `${version}\n`);
});

test("no arguments: exit 2 with the help", async () => {
  const run = await procman([]);
  assert.is(run.code, 2, show(run));
  assert.ok(run.stdout.startsWith("Usage: procman [options] [command]\n"), show(run));
});

test("unknown command: exit 2 with a 'Did you mean' hint", async () => {
  const run = await procman(["valdate", "x.ts"]);
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, "error: unknown command 'valdate'");
  assert.match(run.stderr, "(Did you mean validate?)");
  assert.is(run.stdout, "");
});

test("unknown flag: exit 2 naming it", async () => {
  const [onCommand, global] = await Promise.all([procman(["validate", "--nope", WEBAPP_TS]), procman(["--nope"])]);
  assert.is(onCommand.code, 2, show(onCommand));
  assert.match(onCommand.stderr, "error: unknown option '--nope'");
  assert.is(global.code, 2, show(global));
  assert.match(global.stderr, "error: unknown option '--nope'");
});

test("a misspelt flag gets a suggestion", async () => {
  const run = await procman(["validate", "--jsn", WEBAPP_TS]);
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, "unknown option '--jsn'");
  assert.match(run.stderr, "(Did you mean --json?)");
});

test("a missing argument and a bad choice: exit 2", async () => {
  const [missing, choice] = await Promise.all([
    procman(["validate"]),
    procman(["validate", "-P", "upstart", WEBAPP_TS]),
  ]);
  assert.is(missing.code, 2, show(missing));
  assert.match(missing.stderr, "error: missing required argument 'model'");
  assert.is(choice.code, 2, show(choice));
  assert.match(choice.stderr, "argument 'upstart' is invalid. Allowed choices are direct, supervisord, sysvinit, systemd, launchd.");
});

// ---- validate ----

test("validate on the webapp examples: exit 0 and the activation order", async () => {
  const env = stateEnv();
  const runs = await Promise.all([rel(WEBAPP_TS), rel(WEBAPP_YAML)].map((file) => procman(["validate", file], { env })));
  for (const [index, file] of [rel(WEBAPP_TS), rel(WEBAPP_YAML)].entries()) {
    const run = runs[index]!;
    assert.is(run.code, 0, show(run));
    assert.is(
      run.stdout,
      [
        `${file}: valid, 2 processes in 2 layers`,
        "activation order (each process starts once what it activatesAfter is ready; one layer may start in parallel):",
        "  1. webapp",
        "  2. nginx",
        "",
      ].join("\n"),
    );
    assert.is(run.stderr, "");
  }
  assert.not.ok(existsSync(env.PROCMAN_STATE_DIR), "validate created the state dir");
});

test("validate on an invalid model: exit 2, every problem once on stderr, no stack trace", async () => {
  const env = stateEnv();
  const file = rel(MANY_PROBLEMS_FILE);
  const run = await procman(["validate", file], { env });
  assert.is(run.code, 2, show(run));
  assert.is(run.stdout, "");
  assert.is(run.stderr, [`procman: ${file}: ${MANY_PROBLEMS.length} problems`, ...MANY_PROBLEMS.map((issue) => `  - ${issue}`), ""].join("\n"));
  for (const issue of MANY_PROBLEMS) assert.is(count(run.stderr, issue), 1, `printed ${count(run.stderr, issue)} times: ${issue}`);
  assert.not.match(run.stderr, "    at ");
  assert.not.ok(existsSync(env.PROCMAN_STATE_DIR), "an invalid model changed something on disk");
});

test("validate --debug adds the stack trace", async () => {
  const run = await procman(["validate", "--debug", rel(MANY_PROBLEMS_FILE)], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, "    at ");
  assert.ok(run.stderr.startsWith(`procman: ${rel(MANY_PROBLEMS_FILE)}: ${MANY_PROBLEMS.length} problems\n`), show(run));
});

test("validate --json on a valid model", async () => {
  const run = await procman(["validate", "--json", rel(WEBAPP_YAML)], { env: stateEnv() });
  assert.is(run.code, 0, show(run));
  assert.equal(JSON.parse(run.stdout), { valid: true, file: rel(WEBAPP_YAML), processes: 2, layers: [["webapp"], ["nginx"]] });
});

test("validate --json on an invalid model: exit 2 and every issue as data", async () => {
  const run = await procman(["validate", "--json", rel(MANY_PROBLEMS_FILE)], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  const report = JSON.parse(run.stdout) as { valid: boolean; code: string; issues: { process?: string; field?: string; message: string }[] };
  assert.is(report.valid, false);
  assert.is(report.code, "EMODEL");
  assert.is(report.issues.length, MANY_PROBLEMS.length);
  assert.equal(report.issues.at(-1), { process: "web", field: "activatesAfter", message: "dependency cycle: web -> db -> web" });
  assert.equal(report.issues[1], { process: "web", field: "foregroundProces", message: "unknown field (did you mean foregroundProcess?)" });
});

// A review: validate -P supervisord called valid what generate -P supervisord refused.
test("validate -P MANAGER refuses what that manager's generator cannot carry, as generate does", async () => {
  const dir = makeTempDir();
  const file = path.join(dir, "m.json");
  writeFileSync(file, JSON.stringify({ a: { process: "/bin/sleep", args: ["1\n2", "x\u0001y"] } }));
  const [direct, supervisord, launchd, json] = await Promise.all([
    procman(["validate", file], { env: stateEnv() }),
    procman(["validate", file, "-P", "supervisord"], { env: stateEnv() }),
    procman(["validate", file, "-P", "launchd"], { env: stateEnv() }),
    procman(["validate", file, "-P", "supervisord", "--json"], { env: stateEnv() }),
  ]);
  assert.is(direct.code, 0, show(direct));
  assert.is(supervisord.code, 2, show(supervisord));
  assert.match(supervisord.stderr, "supervisord's command= cannot carry a line break");
  assert.is(launchd.code, 2, show(launchd));
  assert.match(launchd.stderr, "control character 0x01, which a plist (XML 1.0) cannot carry");
  assert.equal(JSON.parse(json.stdout), { valid: false, file, code: "EGENERATE", issues: [{ message: 'a: supervisord\'s command= cannot carry a line break (in "1\\n2")' }] });
});

test("validate --json on a model that does not load: exit 2, the LoadError as an issue", async () => {
  const file = rel(fixture("loader/syntax-error/processes.ts"));
  const run = await procman(["validate", "--json", file], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  const report = JSON.parse(run.stdout) as { valid: boolean; code: string; issues: { message: string }[] };
  assert.is(report.valid, false);
  assert.is(report.code, "ELOAD");
  assert.ok(report.issues[0]!.message.startsWith(`${file}:6:`), report.issues[0]!.message);
});

test("a TS syntax error: exit 2, file and line, no stack trace", async () => {
  const file = rel(fixture("loader/syntax-error/processes.ts"));
  const run = await procman(["validate", file], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  assert.ok(run.stderr.startsWith(`procman: ${file}:6:`), show(run));
  assert.match(run.stderr, "syntax error");
  assert.not.match(run.stderr, "    at ");
});

test("a model that throws: exit 2, its message and line, no stack trace", async () => {
  const file = rel(fixture("loader/throws-in-function/processes.ts"));
  const run = await procman(["validate", file], { env: { PROCMAN_STATE_DIR: "/srv/st" } });
  assert.is(run.code, 2, show(run));
  assert.is(run.stderr, `procman: ${file}:5:9: the model function threw: cannot read /srv/st/secrets\n`);
});

// A review's one-line model was reported at column 116 of a 33-character line: jiti's wrapper
// starts on line 1. There only the line is told; below it the column is right.
test("a model that throws on its first line: the line without a wrong column", async () => {
  const dir = tempDirWith({ "one.ts": 'throw new Error("boom in model");\n', "two.ts": 'const x = 1;\nthrow new Error("boom " + x);\n' });
  const one = await procman(["validate", path.join(dir, "one.ts")], { env: stateEnv() });
  assert.is(one.code, 2, show(one));
  assert.is(one.stderr, `procman: ${path.join(dir, "one.ts")}:1: the model failed to load: boom in model\n`);
  const two = await procman(["validate", path.join(dir, "two.ts")], { env: stateEnv() });
  assert.is(two.stderr, `procman: ${path.join(dir, "two.ts")}:2:7: the model failed to load: boom 1\n`);
});

test("a missing model file: exit 2 naming the file", async () => {
  const [validate, visualize] = await Promise.all([
    procman(["validate", "no/such/processes.ts"], { env: stateEnv() }),
    procman(["visualize", "no/such/processes.yaml"], { env: stateEnv() }),
  ]);
  assert.is(validate.code, 2, show(validate));
  assert.is(validate.stderr, "procman: no/such/processes.ts: no such file\n");
  assert.is(visualize.code, 2, show(visualize));
  assert.is(visualize.stderr, "procman: no/such/processes.yaml: no such file\n");
  assert.is(visualize.stdout, "");
});

// A mistyped --state-dir: stop says nothing is deployed there and makes nothing (it used to create
// lib/procman and report an empty deployment stopped).
test("stop on a state dir never used: exit 0, says so, creates nothing", async () => {
  const dir = path.join(makeTempDir(), "typo");
  const stop = await procman(["stop", "--state-dir", dir]);
  assert.is(stop.code, 0, show(stop));
  assert.match(stop.stderr, `nothing is deployed in ${dir}`);
  assert.not.ok(existsSync(dir), "the state dir was made");
  const json = await procman(["stop", "--json", "--state-dir", dir]);
  assert.is(json.code, 0, show(json));
  assert.equal(json.stdout.trim().split("\n").map((line) => (JSON.parse(line) as { type: string }).type), ["plan", "done"]);
  assert.not.ok(existsSync(dir), "the state dir was made");
});

test("a YAML scalar model: exit 2 with a clear message", async () => {
  const file = rel(fixture("loader/yaml-not-mapping/processes.yaml"));
  const run = await procman(["validate", file], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  assert.is(run.stderr, `procman: ${file}: the model must be a mapping from name to process or a list of processes (got string)\n`);
});

// An empty file was refused while `{}` was a model that stops everything deployed: both are empty.
test("a model that declares no processes ({}, [], export default {}): exit 2, as an empty file", async () => {
  const dir = tempDirWith({ "a.json": "{}\n", "b.yaml": "[]\n", "c.ts": "export default {};\n", "d.yaml": "# nothing yet\n" });
  for (const name of ["a.json", "b.yaml", "c.ts", "d.yaml"]) {
    const result = await procman(["switch", path.join(dir, name), "--state-dir", path.join(dir, "state")]);
    assert.is(result.code, 2, show(result));
    assert.match(result.stderr, `${name}: the model is empty`);
  }
  assert.not.ok(existsSync(path.join(dir, "state")), "a state dir was made");
});

test("--state-dir and PROCMAN_STATE_DIR reach the model's context; the flag wins", async () => {
  // The model function throws a message holding its stateDir.
  const throwing = rel(fixture("loader/throws-in-function/processes.ts"));
  const [viaFlag, viaEnv] = await Promise.all([
    procman(["validate", "--state-dir", "/srv/from-flag", throwing], { env: { PROCMAN_STATE_DIR: "/srv/from-env" } }),
    procman(["validate", throwing], { env: { PROCMAN_STATE_DIR: "/srv/from-env" } }),
  ]);
  assert.is(viaFlag.code, 2, show(viaFlag));
  assert.match(viaFlag.stderr, "cannot read /srv/from-flag/secrets");
  assert.is(viaEnv.code, 2, show(viaEnv));
  assert.match(viaEnv.stderr, "cannot read /srv/from-env/secrets");
});

test('the built CLI loads a model under /tmp that imports "procman" with no node_modules near it', async () => {
  const dir = tempDirWith({
    "processes.ts": [
      'import { createManagedProcess, defineProcesses } from "procman";',
      "export default defineProcesses(() => {",
      '  const db = createManagedProcess({ name: "db", process: "/bin/db" });',
      '  return { db, web: createManagedProcess({ name: "web", process: "/bin/web", activatesAfter: [db] }) };',
      "});",
      "",
    ].join("\n"),
  });
  const run = await procman(["validate", "processes.ts"], { cwd: dir, env: stateEnv() });
  assert.is(run.code, 0, show(run));
  assert.match(run.stdout, "processes.ts: valid, 2 processes in 2 layers\n");
  assert.match(run.stdout, "  1. db\n  2. web\n");
});

// ---- visualize ----

test("visualize prints DOT for the TS and YAML examples, the same for both", async () => {
  const [ts, yaml] = await Promise.all([procman(["visualize", rel(WEBAPP_TS)], { env: stateEnv() }), procman(["visualize", rel(WEBAPP_YAML)], { env: stateEnv() })]);
  assert.is(ts.code, 0, show(ts));
  assert.is(yaml.code, 0, show(yaml));
  assert.is(ts.stdout, yaml.stdout);
  assert.match(ts.stdout, /digraph "procman" \{/);
  assert.match(ts.stdout, '"webapp" [label="webapp\\nSimple web application"];');
  assert.match(ts.stdout, '"nginx" [label="nginx\\nReverse proxy for webapp"];');
  assert.match(ts.stdout, '  "webapp" -> "nginx";\n');
  assert.is(count(ts.stdout, " -> "), 2); // the edge, and the legend comment
  assert.is(ts.stderr, "");
});

test("visualize output is accepted by the real dot (TS and YAML examples)", async () => {
  if (!haveTool("dot", "visualize | dot -Tsvg")) return;
  for (const file of [WEBAPP_TS, WEBAPP_YAML]) {
    const run = await procman(["visualize", file], { env: stateEnv() });
    assert.is(run.code, 0, show(run));
    const result = dotAccepts(run.stdout);
    assert.ok(result.ok, `${rel(file)}: ${result.detail}`);
    assert.match(result.svg, "Reverse proxy for webapp");
  }
});

test("visualize --format svg works without dot on PATH", async () => {
  const emptyPath = makeTempDir();
  const run = await procman(["visualize", "--format", "svg", rel(WEBAPP_YAML)], { env: { ...stateEnv(), PATH: emptyPath } });
  assert.is(run.code, 0, show(run));
  assert.match(run.stdout, /<svg[\s>]/);
  assert.match(run.stdout, "Simple web application");
  assert.ok(run.stdout.trimEnd().endsWith("</svg>"), run.stdout.slice(-200));
});

test("visualize -o writes the file; --format must be dot or svg", async () => {
  const out = path.join(makeTempDir(), "graph.dot");
  const [written, bad] = await Promise.all([
    procman(["visualize", "-o", out, rel(WEBAPP_TS)], { env: stateEnv() }),
    procman(["visualize", "--format", "png", rel(WEBAPP_TS)], { env: stateEnv() }),
  ]);
  assert.is(written.code, 0, show(written));
  assert.is(written.stdout, "");
  assert.match(readFileSync(out, "utf8"), '"webapp" -> "nginx";');
  assert.is(bad.code, 2, show(bad));
  assert.match(bad.stderr, "argument 'png' is invalid. Allowed choices are dot, svg.");
});

test("visualize on an invalid model: exit 2 and the problems, no DOT", async () => {
  const run = await procman(["visualize", rel(MANY_PROBLEMS_FILE)], { env: stateEnv() });
  assert.is(run.code, 2, show(run));
  assert.is(run.stdout, "");
  assert.ok(run.stderr.startsWith(`procman: ${rel(MANY_PROBLEMS_FILE)}: ${MANY_PROBLEMS.length} problems\n`), show(run));
  assert.not.match(run.stderr, "    at ");
});

test("a reader that goes away (validate | head -1) ends procman quietly, without an EPIPE crash", () => {
  const model: Record<string, unknown> = {};
  for (let i = 0; i < 3000; i++) model[`p${i}`] = { process: "/bin/true", activatesAfter: i === 0 ? [] : [`p${i - 1}`] };
  const dir = tempDirWith({ "processes.json": JSON.stringify(model) });
  const script = `"$0" "$1" validate "$2" --state-dir "$3" | head -n 1; exit "\${PIPESTATUS:-0}"`;
  const result = spawnSync("/bin/sh", ["-c", script, process.execPath, BIN, path.join(dir, "processes.json"), path.join(dir, "state")], { encoding: "utf8" });
  assert.match(result.stdout, /^.*processes\.json: valid, 3000 processes in 3000 layers\n$/);
  assert.is(result.stderr, "", result.stderr);
});

test.run();
