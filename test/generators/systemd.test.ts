// systemd units: `systemd-analyze verify` accepts every generated unit without a word, and, since
// verify does not notice quoting mistakes, every unit is also parsed back with a decoder of
// systemd's own rules (systemd-syntax.ts): the argv, environment and settings are the declared ones.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitForReady } from "../../generators/readiness-script.js";
import { generateSystemd } from "../../generators/systemd.js";
import type { GeneratorOutput } from "../../generators/types.js";
import type { ResolvedModel, ResolvedProcess } from "../../src/model/types.js";
import { procman, show as showCli } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import {
  DAEMON,
  MINIMAL_PATH,
  NODE,
  REPORT,
  exampleFiles,
  fileOf,
  freePort,
  generatorError,
  hostileModel,
  resolveExample,
  resolveFor,
  run,
  show,
  writeOutput,
} from "./hostile.js";
import { decodeEnvironment, decodeEnvironmentFile, decodeExecLine, expandSpecifiers, parseUnitFile, value, values, type UnitFile } from "./systemd-syntax.js";
import { need } from "./target-tools.js";

/** `systemd-analyze verify --man=no` on every unit of the output at once: exit 0, nothing printed. */
function assertVerifies(output: GeneratorOutput, label: string): void {
  const dir = writeOutput(output);
  const units = output.files.filter((file) => /\.(service|target)$/.test(file.path)).map((file) => path.join(dir, file.path));
  const result = run("systemd-analyze", ["verify", "--man=no", ...units], { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SYSTEMD_LOG_COLOR: "0" } });
  assert.is(result.status, 0, `${label}: ${show(result)}`);
  assert.is(result.stderr, "", `${label}: verify printed on stderr:\n${result.stderr}`);
  assert.is(result.stdout, "", `${label}: verify printed on stdout:\n${result.stdout}`);
}

function unitOf(output: GeneratorOutput, name: string): UnitFile {
  return parseUnitFile(fileOf(output, name));
}

const resolve = (exported: unknown, dir: string): ResolvedModel => resolveFor("systemd", exported, dir);

const TARGET = "procman.target";
const DIRS = "procman-dirs.service";
const unitName = (name: string) => `procman-${name}.service`;

/**
 * The command behind the environment wrapper every Exec*= of a process's unit has
 * (`/bin/sh -c <strip> sh <kept names…> -- <command…>`), checked to keep every declared name.
 */
function command(line: string, spec?: Pick<ResolvedProcess, "environment">): string[] {
  const argv = decodeExecLine(line);
  assert.equal(argv.slice(0, 2), ["/bin/sh", "-c"], `wrapped: ${line}`);
  assert.is(argv[3], "sh");
  const end = argv.indexOf("--", 4);
  assert.ok(end > 0, `no -- in ${line}`);
  if (spec !== undefined) for (const name of Object.keys(spec.environment)) assert.ok(argv.slice(4, end).includes(name), `${name} is kept`);
  return argv.slice(end + 1);
}

/** The environment systemd reads for a unit: its EnvironmentFile=, which must be the generated one, mode 0600. */
function environmentOf(output: GeneratorOutput, unit: UnitFile, installDir: string, alsoSet: readonly string[] = []): Record<string, string> {
  const file = expandSpecifiers(value(unit, "Service", "EnvironmentFile"));
  assert.ok(file.startsWith(`${installDir}/`), `EnvironmentFile=${file} is not in ${installDir}`);
  const generated = output.files.find((candidate) => candidate.path === file.slice(installDir.length + 1));
  assert.ok(generated !== undefined, `no generated ${file}`);
  assert.is(generated!.mode, 0o600, `${file} is readable by its owner only`);
  assert.equal(Object.keys(decodeEnvironment(values(unit, "Service", "Environment"))), [...alsoSet], "no value of the model in the world-readable unit");
  return decodeEnvironmentFile(generated!.contents);
}


test("every example: units for the system and the user manager verify cleanly; every file is one process's or shared", async () => {
  if (!need("systemd-analyze", "systemd examples")) return;
  for (const file of exampleFiles()) {
    const state = makeTempDir("procman-state-");
    const model = await resolveExample(file, state, "systemd");
    const output = generateSystemd(model);
    const installDir = path.join(state, "lib", "procman", "systemd");
    assert.equal(
      output.files.map((generated) => generated.path).sort(),
      [...model.processes.flatMap(({ name }) => [unitName(name), `procman-${name}.env`]), TARGET, DIRS, "procman-dirs.tmpfiles"].sort(),
    );
    assert.equal(
      [...Object.values(output.processFiles).flat(), ...output.sharedFiles].sort(),
      output.files.map((generated) => generated.path).sort(),
      "each file listed once, as a process's or as shared",
    );
    assert.equal(output.sharedFiles, [TARGET, DIRS, "procman-dirs.tmpfiles"]);
    assert.equal(Object.keys(output.names).sort(), model.processes.map(({ name }) => name).sort());
    assert.ok(output.steps.some((step) => step.includes(`start ${TARGET}`)), output.steps.join("\n"));
    assertVerifies(output, file);
    assertVerifies(generateSystemd(model, { userUnits: true }), `${file} (--user-units)`);
    for (const spec of model.processes) {
      assert.is(output.names[spec.name], unitName(spec.name));
      const unit = unitOf(output, unitName(spec.name));
      const executable = spec.foreground ?? spec.daemon!;
      assert.equal(command(value(unit, "Service", "ExecStart"), spec), [executable.executable, ...executable.args], `${file}: ${spec.name}`);
      assert.equal(environmentOf(output, unit, installDir), spec.environment, `${file}: ${spec.name}`);
    }
  }
});

test("hostile model: verify is silent, and ExecStart=/EnvironmentFile= decode to the declared argv and environment", async () => {
  if (!need("systemd-analyze", "systemd hostile model")) return;
  const dir = makeTempDir("procman-systemd-");
  const hostile = hostileModel({ dir, multiline: true, port: await freePort() });
  // An install directory with a space and a %: EnvironmentFile= names it.
  const installDir = path.join(dir, "units 100%");
  const output = generateSystemd(hostile.model, { installDir });
  assertVerifies(output, "hostile");
  for (const spec of hostile.model.processes) {
    const unit = unitOf(output, unitName(spec.name));
    assert.equal(command(value(unit, "Service", "ExecStart"), spec), hostile.argv[spec.name], `${spec.name}: ExecStart`);
    assert.equal(environmentOf(output, unit, installDir), hostile.env[spec.name], `${spec.name}: EnvironmentFile`);
    assert.is(expandSpecifiers(value(unit, "Unit", "Description")), spec.description);
    assert.is(value(unit, "Service", "Type"), "exec");
    assert.is(expandSpecifiers(value(unit, "Service", "StandardOutput")), `append:${spec.logFile}`);
    assert.is(expandSpecifiers(value(unit, "Service", "StandardError")), `append:${spec.logFile}`);
  }
  const first = unitOf(output, unitName("first"));
  const second = unitOf(output, unitName("second"));
  assert.is(expandSpecifiers(value(first, "Service", "WorkingDirectory")), hostile.workDir);
  assert.is(value(second, "Service", "WorkingDirectory"), "/");
  // Every unit requires and follows the directories unit; second also first.
  assert.equal(values(first, "Unit", "Requires"), [DIRS]);
  assert.equal(values(first, "Unit", "After"), [DIRS]);
  assert.equal(values(second, "Unit", "Requires"), [DIRS, unitName("first")]);
  assert.equal(values(second, "Unit", "After"), [DIRS, unitName("first")]);
  assert.equal(values(second, "Service", "ExecStartPost"), [], "second has no readiness check of its own");
  assert.is(value(first, "Install", "WantedBy"), TARGET);
  assert.equal(values(first, "Unit", "PartOf"), [], "a restart of one unit must not reach the others through the target");
  const target = parseUnitFile(fileOf(output, TARGET));
  assert.equal(values(target, "Unit", "Requires"), [unitName("first"), unitName("second")]);
  assert.equal(values(target, "Unit", "After"), [unitName("first"), unitName("second")]);
  assert.equal(values(target, "Unit", "Wants"), []);
  assert.is(value(target, "Install", "WantedBy"), "multi-user.target");
  // The directories unit runs tmpfiles on the snippet, by its path in the install directory.
  const dirs = parseUnitFile(fileOf(output, DIRS));
  assert.is(value(dirs, "Service", "Type"), "oneshot");
  assert.equal(values(dirs, "Service", "RemainAfterExit"), []);
  assert.equal(values(dirs, "Service", "ExecStart").map(decodeExecLine), [["systemd-tmpfiles", "--create", path.join(installDir, "procman-dirs.tmpfiles")]]);
});

test("the environment wrapper: the manager's variables go, declared ones stay exact (sh's own IFS, PWD, OPTIND, PPID restored), systemd's interface stays", () => {
  const dir = makeTempDir("procman-systemd-");
  const declared = { IFS: ",", PWD: "/declared", OPTIND: "7", PPID: "1", MULTI: "a\nLEAKED=fake\n", EMPTY: "", PATH: MINIMAL_PATH };
  const model = resolve({ env: { process: "/usr/bin/env", args: ["-0"], environment: declared, restart: "no" } }, dir);
  const output = generateSystemd(model);
  const unit = unitOf(output, unitName("env"));
  const argv = decodeExecLine(value(unit, "Service", "ExecStart"));
  assert.not.match(value(unit, "Service", "ExecStart"), "/declared", "no value in the unit");
  // What systemd would hand it: the EnvironmentFile, its manager's block, its own variables.
  const fromFile = decodeEnvironmentFile(fileOf(output, "procman-env.env"));
  const env = { ...fromFile, LANG: "C.UTF-8", LEAK_CANARY: "inherited", LEAKED: "real", HOME: "/root", INVOCATION_ID: "0123", SYSTEMD_EXEC_PID: "42" };
  const result = spawnSync(argv[0]!, argv.slice(1), { env, cwd: "/", encoding: "utf8" });
  assert.is(result.status, 0, result.stderr);
  const got = Object.fromEntries(result.stdout.split("\0").filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
  assert.equal(got, { ...declared, INVOCATION_ID: "0123", SYSTEMD_EXEC_PID: "42" });
});

test("tcp readiness: ExecStartPost= decodes to the wait loop, which passes once the port listens", async () => {
  if (!need("bash", "systemd ExecStartPost")) return;
  const dir = makeTempDir("procman-systemd-");
  const port = await freePort();
  const hostile = hostileModel({ dir, multiline: false, port });
  const first = hostile.model.processes.find(({ name }) => name === "first")!;
  const unit = unitOf(generateSystemd(hostile.model), unitName("first"));
  const post = decodeExecLine(value(unit, "Service", "ExecStartPost"));
  assert.equal(command(value(unit, "Service", "ExecStartPost"), first), ["/bin/sh", "-c", waitForReady(first, { inherited: true })]);
  assert.is(value(unit, "Service", "TimeoutStartSec"), String(Math.ceil(first.readiness.timeout) + 5));
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  try {
    const status = await new Promise<number | null>((resolve) => spawn(post[0]!, post.slice(1), { stdio: "ignore" }).on("exit", resolve));
    assert.is(status, 0);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function featureModel(dir: string): ResolvedModel {
  mkdirSync(path.join(dir, "srv"), { recursive: true });
  return resolve(
    {
      db: {
        description: "A self-daemonizing database",
        daemon: NODE,
        daemonArgs: [DAEMON, "--db", "100%"],
        pidFile: path.join(dir, "state", "run", "db 100%.pid"),
        environment: { PID_FILE: path.join(dir, "state", "run", "db 100%.pid") },
        initialize: `mkdir -p "$HOME/db" '${dir}/100%'`,
        stop: { signal: "SIGINT", timeout: 7.5 },
      },
      web: {
        foregroundProcess: NODE,
        args: [REPORT, "--port", "8080"],
        directory: path.join(dir, "srv"),
        user: "daemon",
        group: "daemon",
        umask: "027",
        nice: 5,
        activatesAfter: ["db"],
        readiness: { tcp: { port: 8080 }, timeout: 12 },
        stop: { signal: "SIGQUIT", timeout: 20 },
        restart: { policy: "always", delay: 3 },
        overrides: { systemd: { Service: { LimitNOFILE: 4096, Restart: "on-abnormal" }, Unit: { ConditionPathExists: "/" } } },
      },
    },
    dir,
  );
}

const FIXED_DELAY = (names: string) =>
  `${names}: systemd 252 restarts after a fixed RestartSec= (restart.delay); the delay doubling up to restart.maxDelay needs RestartSteps=, systemd 254 (--systemd-version)`;

test("settings: Type=exec / forking + PIDFile=, Requires=/After=, User/Group/UMask/Nice/WorkingDirectory/KillSignal/TimeoutStopSec/Restart, overrides merged", () => {
  const dir = makeTempDir("procman-systemd-");
  const model = featureModel(dir);
  const output = generateSystemd(model);
  assert.equal(output.warnings, [FIXED_DELAY("db, web")]);
  if (need("systemd-analyze", "systemd settings verify")) assertVerifies(output, "features");
  const db = unitOf(output, unitName("db"));
  assert.is(value(db, "Service", "Type"), "forking");
  assert.is(expandSpecifiers(value(db, "Service", "PIDFile")), path.join(dir, "state", "run", "db 100%.pid"));
  assert.equal(command(value(db, "Service", "ExecStart")), [NODE, DAEMON, "--db", "100%"]);
  assert.equal(command(value(db, "Service", "ExecStartPre")), ["/bin/sh", "-c", `mkdir -p "$HOME/db" '${dir}/100%'`]);
  assert.is(value(db, "Service", "KillSignal"), "SIGINT");
  assert.is(value(db, "Service", "TimeoutStopSec"), "7.5");
  assert.is(value(db, "Service", "Restart"), "on-failure");
  assert.is(value(db, "Service", "RestartSec"), "1");
  assert.is(value(db, "Service", "WorkingDirectory"), "/");
  assert.equal(values(db, "Service", "User"), []);
  // A daemon is ready once its PID file names a live process.
  assert.equal(command(value(db, "Service", "ExecStartPost")), ["/bin/sh", "-c", waitForReady(model.processes[0]!, { inherited: true })]);

  const web = unitOf(output, unitName("web"));
  assert.is(value(web, "Service", "Type"), "exec");
  assert.equal(values(web, "Service", "PIDFile"), []);
  assert.equal(values(web, "Unit", "Requires"), [DIRS, unitName("db")]);
  assert.equal(values(web, "Unit", "After"), [DIRS, unitName("db")]);
  assert.is(value(web, "Service", "User"), "daemon");
  assert.is(value(web, "Service", "Group"), "daemon");
  assert.is(value(web, "Service", "UMask"), "0027");
  assert.is(value(web, "Service", "Nice"), "5");
  assert.is(value(web, "Service", "WorkingDirectory"), path.join(dir, "srv"));
  assert.is(value(web, "Service", "KillSignal"), "SIGQUIT");
  assert.is(value(web, "Service", "TimeoutStopSec"), "20");
  assert.is(value(web, "Service", "RestartSec"), "3");
  assert.is(value(web, "Service", "TimeoutStartSec"), "17");
  // overrides.systemd: new keys added, existing ones replaced, other sections too.
  assert.is(value(web, "Service", "LimitNOFILE"), "4096");
  assert.is(value(web, "Service", "Restart"), "on-abnormal");
  assert.is(value(web, "Unit", "ConditionPathExists"), "/");
  assert.match(value(web, "Service", "ExecStartPost"), "/dev/tcp/");
});

test("--user-units: no User=/Group= (with a warning), the target is wanted by default.target, tmpfiles --user", () => {
  const dir = makeTempDir("procman-systemd-");
  const output = generateSystemd(featureModel(dir), { userUnits: true });
  if (need("systemd-analyze", "systemd user units verify")) assertVerifies(output, "user units");
  const web = unitOf(output, unitName("web"));
  assert.equal(values(web, "Service", "User"), []);
  assert.equal(values(web, "Service", "Group"), []);
  assert.is(value(web, "Service", "UMask"), "0027");
  assert.equal(output.warnings, ["web: user units cannot switch User=/Group=; ignored", FIXED_DELAY("db, web")]);
  assert.is(value(parseUnitFile(fileOf(output, TARGET)), "Install", "WantedBy"), "default.target");
  assert.equal(decodeExecLine(value(parseUnitFile(fileOf(output, DIRS)), "Service", "ExecStart")).slice(0, 3), ["systemd-tmpfiles", "--user", "--create"]);
  const system = generateSystemd(featureModel(dir));
  assert.is(value(parseUnitFile(fileOf(system, TARGET)), "Install", "WantedBy"), "multi-user.target");
});

test("restart: policies map one to one; RestartSec= is the delay; the start limit counts starts, in [Unit]; RestartSteps= only from systemd 254", () => {
  const dir = makeTempDir("procman-systemd-");
  for (const policy of ["no", "on-failure", "always"]) {
    const output = generateSystemd(resolve({ p: { process: "/bin/sleep", args: ["1"], restart: policy } }, dir));
    assert.is(value(unitOf(output, unitName("p")), "Service", "Restart"), policy);
  }
  const base = resolve({ p: { process: "/bin/sleep", args: ["1"] } }, dir);
  const spec = { ...base.processes[0]!, restart: { policy: "on-failure" as const, delay: 2, maxDelay: 60, limit: { burst: 4, interval: 120 } } };
  const model = { ...base, processes: [spec] };
  const old = generateSystemd(model);
  const unit = unitOf(old, unitName("p"));
  assert.is(value(unit, "Service", "RestartSec"), "2");
  // 4 restarts after the first start: 5 starts within the interval, the sixth is refused.
  assert.is(value(unit, "Unit", "StartLimitBurst"), "5");
  assert.is(value(unit, "Unit", "StartLimitIntervalSec"), "120");
  assert.equal(values(unit, "Service", "StartLimitBurst"), []);
  assert.equal(values(unit, "Service", "RestartSteps"), []);
  assert.equal(values(unit, "Service", "RestartMaxDelaySec"), []);
  assert.equal(old.warnings, [FIXED_DELAY("p")]);
  if (need("systemd-analyze", "systemd restart settings verify")) assertVerifies(old, "restart 252");
  const recent = generateSystemd(model, { systemdVersion: 254 });
  const unit254 = unitOf(recent, unitName("p"));
  // 2 s doubling to 60 s: 2, 4, 8, 16, 32, 60 — five steps.
  assert.is(value(unit254, "Service", "RestartSteps"), "5");
  assert.is(value(unit254, "Service", "RestartMaxDelaySec"), "60");
  assert.equal(recent.warnings, []);
  const never = generateSystemd({ ...base, processes: [{ ...spec, restart: { ...spec.restart, policy: "no" as const } }] }, { systemdVersion: 254 });
  assert.equal(values(unitOf(never, unitName("p")), "Service", "RestartSteps"), []);
  assert.equal(never.warnings, []);
});

test("liveness is not carried (a warning); onFailure becomes an OnFailure= unit that runs the snippet as the process runs", () => {
  const dir = makeTempDir("procman-systemd-");
  const base = resolve({ p: { process: "/bin/sleep", args: ["1"], restart: "no", user: "daemon", directory: dir, umask: "027", environment: { TOKEN: "s3cret $x" } } }, dir);
  const spec = {
    ...base.processes[0]!,
    liveness: { kind: "http" as const, url: "http://127.0.0.1:1/", status: 200, interval: 10, timeout: 5, failures: 3 },
    onFailure: `echo "$PROCMAN_PROCESS failed: 100%" | mail root`,
  };
  const installDir = path.join(dir, "units");
  const output = generateSystemd({ ...base, processes: [spec] }, { installDir });
  assert.equal(output.warnings, ["p: systemd cannot run the http liveness check; not carried (a process that hangs is not restarted)"]);
  const onFailureName = "procman-onfailure@p.service";
  assert.equal(output.processFiles.p, [unitName("p"), "procman-p.env", onFailureName]);
  assert.is(value(unitOf(output, unitName("p")), "Unit", "OnFailure"), onFailureName);
  const onFailure = unitOf(output, onFailureName);
  assert.is(value(onFailure, "Service", "Type"), "oneshot");
  assert.equal(command(value(onFailure, "Service", "ExecStart"), spec), ["/bin/sh", "-c", spec.onFailure]);
  assert.ok(decodeExecLine(value(onFailure, "Service", "ExecStart")).includes("PROCMAN_PROCESS"), "PROCMAN_PROCESS is kept");
  assert.equal(environmentOf(output, onFailure, installDir, ["PROCMAN_PROCESS", "PROCMAN_STATE"]), spec.environment);
  assert.equal(values(onFailure, "Service", "Environment").map((line) => decodeEnvironment([line])), [{ PROCMAN_PROCESS: "p" }, { PROCMAN_STATE: "failed" }]);
  assert.is(value(onFailure, "Service", "User"), "daemon");
  assert.is(value(onFailure, "Service", "UMask"), "0027");
  assert.is(value(onFailure, "Service", "WorkingDirectory"), dir);
  assert.equal(values(onFailure, "Install", "WantedBy"), [], "started only by OnFailure=");
  if (need("systemd-analyze", "systemd onFailure verify")) assertVerifies(output, "onFailure");
});

test("directories: the tmpfiles snippet creates log, PID, state and runtime directories with their owner and mode, for real", () => {
  const dir = makeTempDir("procman-systemd-");
  const base = resolve(
    {
      web: { process: "/bin/sleep", args: ["1"], user: "daemon", group: "daemon", restart: "no" },
      worker: { process: "/bin/sleep", args: ["1"], user: "bin", restart: "no" },
      plain: { process: "/bin/sleep", args: ["1"], restart: "no" },
    },
    dir,
  );
  const [web, worker, plain] = base.processes as [ResolvedProcess, ResolvedProcess, ResolvedProcess];
  const lib = path.join(dir, "state", "lib");
  const model: ResolvedModel = {
    ...base,
    processes: [
      { ...web, stateDirectory: { path: path.join(lib, "web data 100%"), mode: "0750" }, runtimeDirectory: { path: path.join(dir, "state", "run", "web"), mode: "0700" } },
      { ...worker, stateDirectory: { path: path.join(lib, "worker"), mode: "0700" } },
      plain,
    ],
  };
  const installDir = path.join(dir, "units");
  const output = generateSystemd(model, { installDir });
  const snippet = fileOf(output, "procman-dirs.tmpfiles");
  assert.match(snippet, `d "${path.join(dir, "state", "log")}" - - - -`);
  assert.match(snippet, `d "${path.join(lib, "web data 100%%")}" 0750 "daemon" "daemon" -`);
  // A user without a group: tmpfiles cannot say "its primary group", so the unit chgrps to `id -g`.
  const dirsUnit = parseUnitFile(fileOf(output, DIRS));
  const execs = values(dirsUnit, "Service", "ExecStart").map(decodeExecLine);
  assert.equal(execs.length, 2);
  assert.equal(execs[1]!.slice(3), ["bin", path.join(lib, "worker")]);
  if (!need("systemd-tmpfiles", "systemd tmpfiles directories") || !need("systemd-analyze", "systemd tmpfiles directories")) return;
  assertVerifies(output, "directories");
  if (process.getuid?.() !== 0) {
    console.log("  SKIP systemd tmpfiles ownership: needs root to chown");
    return;
  }
  const written = writeOutput(output, installDir);
  // A planted symlink in place of a process's directory is not followed.
  const victim = makeTempDir("procman-victim-");
  mkdirSync(path.join(dir, "state", "run"), { recursive: true });
  symlinkSync(victim, path.join(dir, "state", "run", "web"));
  for (const argv of execs) {
    const result = run(argv[0]!, argv.slice(1), { cwd: written });
    assert.is(result.status, 0, show(result));
  }
  const statOf = (target: string) => {
    const info = lstatSync(target);
    return { mode: (info.mode & 0o7777).toString(8), uid: info.uid, gid: info.gid, dir: info.isDirectory() };
  };
  const id = (flag: string, user: string) => Number(run("id", [flag, user]).stdout.trim());
  assert.equal(statOf(path.join(lib, "web data 100%")), { mode: "750", uid: id("-u", "daemon"), gid: id("-g", "daemon"), dir: true });
  assert.equal(statOf(path.join(lib, "worker")), { mode: "700", uid: id("-u", "bin"), gid: id("-g", "bin"), dir: true });
  assert.ok(statOf(path.join(dir, "state", "log")).dir);
  assert.ok(lstatSync(path.join(dir, "state", "run", "web")).isSymbolicLink(), "the planted link is left alone");
  assert.equal(statOf(victim).uid, 0, "its target was not chowned");
});

test("readiness file: the stale file is removed before the start (never following a link); only a regular file counts", () => {
  const dir = makeTempDir("procman-systemd-");
  const base = resolve({ p: { process: "/bin/sleep", args: ["1"] } }, dir);
  const ready = path.join(dir, "ready 100%");
  const spec: ResolvedProcess = { ...base.processes[0]!, readiness: { kind: "file", path: ready, timeout: 2, interval: 0.1 } };
  const output = generateSystemd({ ...base, processes: [spec] });
  const unit = unitOf(output, unitName("p"));
  const pre = values(unit, "Service", "ExecStartPre").map(decodeExecLine);
  assert.equal(values(unit, "Service", "ExecStartPre").map((line) => command(line)), [["/bin/sh", "-c", `rm -f -- '${ready}'`]]);
  const post = decodeExecLine(value(unit, "Service", "ExecStartPost"));
  const runPost = () => run(post[0]!, post.slice(1)).status;
  // A link planted where the file goes: removed, its target kept; the check does not pass on a link.
  writeFileSync(path.join(dir, "target"), "");
  symlinkSync(path.join(dir, "target"), ready);
  assert.is(runPost(), 1, "a symlink is not ready");
  assert.is(run(pre[0]![0]!, pre[0]!.slice(1)).status, 0);
  assert.not.ok(existsSync(ready));
  assert.ok(existsSync(path.join(dir, "target")), "rm removed the link, not what it points to");
  writeFileSync(ready, "");
  assert.is(runPost(), 0);
  if (need("systemd-analyze", "systemd readiness file verify")) assertVerifies(output, "file readiness");
});

test("values systemd cannot carry are refused, naming the process: notify readiness, a process named dirs, a bad prefix", () => {
  const dir = makeTempDir("procman-systemd-");
  const dash = generatorError(() => generateSystemd(resolve({ odd: { process: "-bin", args: ["x"] } }, dir)));
  assert.match(dash.message, "odd: an executable starting with -");
  const space = generatorError(() => generateSystemd(resolve({ spacey: { process: "/bin/sleep", directory: `${dir}/trailing ` } }, dir)));
  assert.match(space.message, "spacey: directory ends with whitespace");
  assert.is(space.code, "EGENERATE");
  assert.is(space.exitCode, 2);
  const base = resolve({ n: { process: "/bin/sleep" } }, dir);
  const notify = generatorError(() =>
    generateSystemd({ ...base, processes: [{ ...base.processes[0]!, readiness: { kind: "notify", fd: 3, timeout: 5, interval: 0.1 } }] }));
  assert.match(notify.message, "n: readiness notify (descriptor 3) cannot be carried: systemd's Type=notify is a socket");
  assert.is(notify.exitCode, 2);
  const dirs = generatorError(() => generateSystemd(resolve({ dirs: { process: "/bin/sleep" } }, dir)));
  assert.match(dirs.message, 'dirs: the name "dirs" is taken by procman-dirs.service');
  for (const prefix of ["", "a b", "-x", "a/b", "ü"]) {
    const bad = generatorError(() => generateSystemd(base, { prefix }));
    assert.match(bad.message, `prefix ${JSON.stringify(prefix)} must match`);
  }
  const lone = generatorError(() =>
    generateSystemd({ ...base, processes: [{ ...base.processes[0]!, environment: { BAD: "x\ud800y" } }] }));
  assert.match(lone.message, "n: environment BAD is not valid Unicode");
});

test("prefix: every name, reference and path is namespaced", () => {
  if (!need("systemd-analyze", "systemd prefix verify")) return;
  const dir = makeTempDir("procman-systemd-");
  const output = generateSystemd(resolve({ a: { process: "/bin/sleep", args: ["1"] }, b: { process: "/bin/sleep", args: ["1"], activatesAfter: ["a"] } }, dir), { prefix: "shop_2.x" });
  assert.equal(output.files.map((file) => file.path).sort(), [
    "shop_2.x-a.env", "shop_2.x-a.service", "shop_2.x-b.env", "shop_2.x-b.service", "shop_2.x-dirs.service", "shop_2.x-dirs.tmpfiles", "shop_2.x.target",
  ]);
  const b = unitOf(output, "shop_2.x-b.service");
  assert.equal(values(b, "Unit", "Requires"), ["shop_2.x-dirs.service", "shop_2.x-a.service"]);
  assert.is(value(b, "Install", "WantedBy"), "shop_2.x.target");
  assert.equal(output.names, { a: "shop_2.x-a.service", b: "shop_2.x-b.service" });
  assertVerifies(output, "prefix");
});

test("a value ending in a backslash does not swallow the next line (systemd's line continuation)", () => {
  const dir = makeTempDir("procman-systemd-");
  const output = generateSystemd(
    resolve(
      {
        a: { process: "/bin/sleep", args: ["1000"] },
        b: {
          description: "ends in a backslash \\",
          process: "/bin/sleep",
          args: ["1000", "\\"],
          directory: path.join(dir, "dir\\"),
          environment: { E: "\\" },
          activatesAfter: ["a"],
        },
        c: { description: "two \\\\", daemon: "/bin/true", pidFile: path.join(dir, "c.pid\\") },
      },
      dir,
    ),
  );
  const b = unitOf(output, unitName("b"));
  assert.is(value(b, "Unit", "Description"), "ends in a backslash \\");
  assert.equal(values(b, "Unit", "Requires"), [DIRS, unitName("a")]);
  assert.is(value(b, "Service", "WorkingDirectory"), path.join(dir, "dir\\"));
  assert.equal(command(value(b, "Service", "ExecStart")), ["/bin/sleep", "1000", "\\"]);
  assert.equal(decodeEnvironmentFile(fileOf(output, "procman-b.env")).E, "\\");
  const c = unitOf(output, unitName("c"));
  assert.is(value(c, "Unit", "Description"), "two \\\\");
  assert.is(value(c, "Service", "PIDFile"), path.join(dir, "c.pid\\"));
  assert.equal(command(value(c, "Service", "ExecStart")), ["/bin/true"]);
  if (!need("systemd-analyze", "systemd line continuation")) return;
  assertVerifies(output, "backslashes");
  // systemd itself reads the Requires= after the Description= of b: without a's unit, verify fails on it.
  const alone = writeOutput({ ...output, files: output.files.filter((file) => file.path === unitName("b") || file.path === DIRS) });
  const result = run("systemd-analyze", ["verify", "--man=no", path.join(alone, unitName("b"))], { cwd: alone });
  assert.is(result.status, 1, show(result));
  assert.match(result.stderr, unitName("a"));
});

test("procman generate -P systemd writes the units (and --user-units drops User=)", async () => {
  const out = makeTempDir("procman-systemd-cli-");
  const state = makeTempDir("procman-state-");
  const file = path.join(exampleFiles().find((candidate) => candidate.endsWith(path.join("webapp", "processes.yaml")))!);
  const result = await procman(["generate", file, "-P", "systemd", "--out", out, "--state-dir", state, "--user-units"]);
  assert.is(result.code, 0, showCli(result));
  assert.match(result.stdout, `wrote 7 files for systemd to ${out}`);
  for (const name of [unitName("webapp"), unitName("nginx"), TARGET, DIRS]) assert.ok(existsSync(path.join(out, name)), name);
  const nginx = parseUnitFile(readFileSync(path.join(out, unitName("nginx")), "utf8"));
  assert.is(value(nginx, "Service", "Type"), "forking");
  assert.equal(values(nginx, "Unit", "Requires"), [DIRS, unitName("webapp")]);
  assert.is(expandSpecifiers(value(nginx, "Service", "PIDFile")), path.join(state, "run", "nginx.pid"));
  // The environment file is named by its path in --out, and is not world-readable.
  assert.is(expandSpecifiers(value(nginx, "Service", "EnvironmentFile")), path.join(out, "procman-nginx.env"));
  assert.is(statSync(path.join(out, "procman-nginx.env")).mode & 0o777, 0o600);
  assert.match(result.stderr, "systemctl --user link");
});

test.run();
