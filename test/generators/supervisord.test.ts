// supervisord: a REAL supervisord runs the generated config of the hostile model; the programs get
// their argv and environment byte for byte, a dependent starts only once its dependency is ready,
// and shutdown leaves nothing behind. supervisor's own config code checks every other output.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, closeSync } from "node:fs";
import path from "node:path";
import { SUPERVISORD_CONF, generateSupervisord, supervisordArgv } from "../../generators/supervisord.js";
import { exactArgv } from "../../generators/exact-env.js";
import type { GeneratorOutput } from "../../generators/types.js";
import type { ResolvedModel, ResolvedProcess } from "../../src/model/types.js";
import { procman, show as showCli } from "../helpers/cli.js";
import { stampIn } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import {
  DAEMON,
  MINIMAL_PATH,
  NODE,
  REPORT,
  assertStartedAsDeclared,
  exampleFiles,
  freePort,
  hostileModel,
  isAlive,
  killAll,
  processesMentioning,
  readReport,
  resolveExample,
  run,
  show,
  waitFor,
  waitForReport,
  writeOutput,
  generatorError,
  resolveFor,
} from "./hostile.js";
import { need, supervisorRead } from "./target-tools.js";

const resolve = (exported: unknown, dir: string): ResolvedModel => resolveFor("supervisord", exported, dir);


/** The generated setup script, run as its install step says, before supervisord starts: it creates the log directories. */
function runSetup(confDir: string, prefix = "procman"): void {
  const result = run("/bin/sh", [path.join(confDir, `${prefix}-setup.sh`)], { env: { PATH: MINIMAL_PATH } });
  assert.is(result.status, 0, show(result));
}

/** The argv supervisord will exec for each program, as its own parser reads the config. */
function assertReadBack(model: ResolvedModel, configFile: string, label: string): void {
  const programs = supervisorRead(configFile);
  assert.equal(Object.keys(programs).sort(), model.processes.map(({ name }) => name).sort(), label);
  const byName = new Map(model.processes.map((spec) => [spec.name, spec]));
  for (const spec of model.processes) {
    const program = programs[spec.name]!;
    assert.equal(program.argv, supervisordArgv(spec, spec.activatesAfter.map((name) => byName.get(name)!)), `${label}: ${spec.name}`);
    assert.is(program.group, "procman", `${label}: ${spec.name} is in the group`);
    assert.is(program.stdout_logfile, spec.logFile, `${label}: ${spec.name} log file`);
    assert.is(program.directory, spec.directory ?? "/", `${label}: ${spec.name} directory`);
  }
}

interface Supervisord {
  readonly child: ChildProcess;
  readonly config: string;
  ctl(...args: string[]): ReturnType<typeof run>;
  /** supervisorctl shutdown, then wait (bounded) until supervisord has exited. */
  shutdown(): Promise<void>;
  exited(): boolean;
}

function startSupervisord(configFile: string): Supervisord {
  const dir = path.dirname(configFile);
  const out = openSync(path.join(dir, "supervisord.out"), "a");
  // An extra variable in supervisord's own environment: the programs must not inherit it.
  const child = spawn("supervisord", ["-n", "-c", configFile], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? MINIMAL_PATH, LANG: "C.UTF-8", LEAK_CANARY: "inherited" },
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => (exited = true));
  const ctl = (...args: string[]) => run("supervisorctl", ["-c", configFile, ...args], { env: { PATH: process.env.PATH ?? MINIMAL_PATH, LANG: "C.UTF-8" } });
  return {
    child,
    config: configFile,
    ctl,
    exited: () => exited,
    async shutdown() {
      if (exited) return;
      const result = ctl("shutdown");
      assert.is(result.status, 0, show(result));
      const timer = new Promise<void>((_, reject) => setTimeout(() => reject(new Error("supervisord did not exit within 30 s")), 30_000).unref());
      await Promise.race([exit, timer]);
    },
  };
}

/** The state of each program as supervisorctl prints it. */
function states(supervisord: Supervisord): Record<string, string> {
  const result = supervisord.ctl("status");
  const out: Record<string, string> = {};
  for (const line of result.stdout.split("\n")) {
    const match = /^(\S+)\s+([A-Z]+)/.exec(line);
    if (match !== null) out[match[1]!] = match[2]!;
  }
  return out;
}

/** Kill whatever is left (only after a failure) and stop supervisord. */
async function cleanUp(supervisord: Supervisord | undefined, marker: string, pids: number[]): Promise<void> {
  if (supervisord !== undefined && !supervisord.exited()) {
    try {
      await supervisord.shutdown();
    } catch {
      supervisord.child.kill("SIGKILL");
    }
  }
  killAll([...pids, ...processesMentioning(marker)]);
}

test("every example: generated, and supervisor's own parser reads the argv we mean", async () => {
  for (const file of exampleFiles()) {
    const model = await resolveExample(file, makeTempDir("procman-state-"), "supervisord");
    const output = generateSupervisord(model);
    assert.equal(
      output.files.map((generated) => generated.path).sort(),
      [SUPERVISORD_CONF, "procman-setup.sh", "conf.d/procman.conf", ...model.processes.map(({ name }) => `conf.d/procman-${name}.conf`)].sort(),
    );
    assert.equal(output.sharedFiles, [SUPERVISORD_CONF, "procman-setup.sh", "conf.d/procman.conf"]);
    assert.equal(output.processFiles, Object.fromEntries(model.processes.map(({ name }) => [name, [`conf.d/procman-${name}.conf`]])));
    assert.equal(output.names, Object.fromEntries(model.processes.map(({ name }) => [name, `procman:${name}`])));
    if (!need("supervisord", "supervisord examples")) continue;
    const confDir = writeOutput(output);
    runSetup(confDir);
    assertReadBack(model, path.join(confDir, SUPERVISORD_CONF), file);
  }
});

test("hostile model under a real supervisord: exact argv and environment, dependency order, % in the log path, nothing left", async () => {
  if (!need("supervisord", "supervisord hostile run") || !need("supervisorctl", "supervisord hostile run")) return;
  const dir = makeTempDir("procman-supervisord-");
  const delayMs = 1500;
  const hostile = hostileModel({ dir, multiline: false, port: await freePort(), delayMs });
  const output = generateSupervisord(hostile.model);
  assert.equal(output.warnings, []);
  // A space in the config's own directory: supervisord splits [include] files= on whitespace.
  const confDir = writeOutput(output, path.join(dir, "conf dir"));
  const config = path.join(confDir, SUPERVISORD_CONF);
  // Nothing exists yet: supervisord would refuse to start without the log directory.
  assert.not.ok(existsSync(path.dirname(hostile.model.processes[0]!.logFile)));
  runSetup(confDir);
  assertReadBack(hostile.model, config, "hostile");
  for (const spec of hostile.model.processes) assert.match(spec.logFile, "%");

  let supervisord: Supervisord | undefined;
  const pids: number[] = [];
  try {
    supervisord = startSupervisord(config);
    const first = await waitForReport(hostile.reportFile("first"));
    pids.push(first.pid);
    const second = await waitForReport(hostile.reportFile("second"));
    pids.push(second.pid);
    const readyAt = Number(readFileSync(`${hostile.reportFile("first")}.ready`, "utf8"));

    assertStartedAsDeclared(first, hostile.argv.first!, hostile.env.first!, "first");
    assertStartedAsDeclared(second, hostile.argv.second!, hostile.env.second!, "second");
    assert.is(first.cwd, hostile.workDir);
    assert.is(second.cwd, "/");
    // supervisord spawns both at once (priority only orders spawns); second's wrapper waits.
    assert.ok(second.started >= readyAt, `second started at ${second.started}, before first was ready at ${readyAt}`);
    assert.ok(second.started - first.started >= delayMs, `second started ${second.started - first.started} ms after first`);

    await waitFor("both programs RUNNING", () => {
      const now = states(supervisord!);
      return now["procman:first"] === "RUNNING" && now["procman:second"] === "RUNNING";
    });
    for (const spec of hostile.model.processes) {
      await waitFor(`the log file ${spec.logFile}`, () => existsSync(spec.logFile));
    }
    assert.not.ok(existsSync(path.join(dir, "state 100%% ünï")), "a doubled % in the log directory");

    await supervisord.shutdown();
    assert.ok(supervisord.exited());
    await waitFor("the programs to be gone", () => pids.every((pid) => !isAlive(pid)), 10_000);
    assert.equal(processesMentioning(dir), [], "processes left behind");
  } finally {
    await cleanUp(supervisord, dir, pids);
  }
});

test("a self-daemonizing program runs behind the proxy: initialize first, exact argv/env, stop reaches it, a daemon that dies is restarted", async () => {
  if (!need("supervisord", "supervisord daemon proxy") || !need("supervisorctl", "supervisord daemon proxy")) return;
  const dir = makeTempDir("procman-supervisord-");
  const pidFile = path.join(dir, "state", "run", "db.pid");
  const reportFile = path.join(dir, "db.json");
  const args = ["--db", "with space", "100%", "$HOME", "a ;b", "end "];
  const model = resolve(
    {
      db: {
        daemon: NODE,
        daemonArgs: [DAEMON, ...args],
        pidFile,
        environment: { PID_FILE: pidFile, REPORT_FILE: reportFile, QUOTES: `'"` },
        // Creates the PID file's directory: without it the daemon cannot start.
        initialize: `mkdir -p "$(dirname "$PID_FILE")" && printf '%s' "$QUOTES" > "$REPORT_FILE.init"`,
        readiness: { pidFile: true, timeout: 10 },
        stop: { timeout: 5 },
        restart: "on-failure",
      },
    },
    dir,
  );
  const config = path.join(writeOutput(generateSupervisord(model), path.join(dir, "conf")), SUPERVISORD_CONF);
  runSetup(path.dirname(config));
  assertReadBack(model, config, "daemon");
  let supervisord: Supervisord | undefined;
  const pids: number[] = [];
  try {
    supervisord = startSupervisord(config);
    const report = await waitForReport(reportFile);
    pids.push(report.pid);
    // The daemon started report.mjs with its own argv and environment: both exactly the declared ones.
    assertStartedAsDeclared(report, [NODE, REPORT, ...args], { PID_FILE: pidFile, REPORT_FILE: reportFile, QUOTES: `'"`, PATH: MINIMAL_PATH }, "db");
    assert.is(readFileSync(`${reportFile}.init`, "utf8"), `'"`, "initialize ran with the declared environment");
    await waitFor("db RUNNING", () => states(supervisord!)["procman:db"] === "RUNNING");

    // The daemon goes away by itself: the proxy exits 1, supervisord restarts it (on-failure).
    process.kill(report.pid, "SIGKILL");
    const restarted = await waitFor("a new daemon", () => {
      if (!existsSync(reportFile)) return undefined;
      const next = readReport(reportFile);
      return next.pid !== report.pid ? next : undefined;
    });
    pids.push(restarted.pid);
    const log = readFileSync(path.join(path.dirname(config), "supervisord.log"), "utf8");
    assert.match(log, /exited: db \(exit status 1; not expected\)/);
    await waitFor("db RUNNING again", () => states(supervisord!)["procman:db"] === "RUNNING");

    await supervisord.shutdown();
    await waitFor("the daemon to be gone", () => !isAlive(restarted.pid), 10_000);
    assert.equal(processesMentioning(dir), [], "processes left behind");
  } finally {
    await cleanUp(supervisord, dir, pids);
  }
});

test("readiness notify under a real supervisord: the dependent starts after the line ended; the program keeps descriptor 5 and never gets SIGPIPE", async () => {
  if (!need("supervisord", "supervisord notify") || !need("supervisorctl", "supervisord notify") || !need("dd", "supervisord notify")) return;
  const dir = makeTempDir("procman-supervisord-");
  const marks = path.join(dir, "marks");
  mkdirSync(marks);
  const talker = `printf 're' >&5; sleep 1; date +%s%N > '${marks}/talker.ready'; echo 'ady' >&5; sleep 1; echo again >&5 && : > '${marks}/alive'; echo $$ > '${marks}/talker.pid'; exec sleep 1000`;
  const base = resolve(
    {
      talker: { process: "/bin/sh", args: ["-c", talker], restart: "no" },
      dep: { process: "/bin/sh", args: ["-c", `date +%s%N > '${marks}/dep.started'; exec sleep 1000`], activatesAfter: ["talker"], restart: "no" },
    },
    dir,
  );
  const [talkerSpec, depSpec] = base.processes as [ResolvedProcess, ResolvedProcess];
  const model = { ...base, processes: [{ ...talkerSpec, readiness: { kind: "notify" as const, fd: 5, timeout: 20, interval: 0.1 } }, depSpec] };
  const config = path.join(writeOutput(generateSupervisord(model), path.join(dir, "conf")), SUPERVISORD_CONF);
  runSetup(path.dirname(config));
  assertReadBack(model, config, "notify");
  let supervisord: Supervisord | undefined;
  const pids: number[] = [];
  try {
    supervisord = startSupervisord(config);
    const depAt = await stampIn(path.join(marks, "dep.started"), 30_000);
    const readyAt = await stampIn(path.join(marks, "talker.ready"));
    assert.ok(depAt > readyAt, "dep started only after talker's line ended");
    assert.ok(existsSync(path.join(dir, "state", "run", "talker.ready")), "the proxy's marker");
    await waitFor("talker's write after nobody reads", () => existsSync(path.join(marks, "alive")));
    await waitFor("both RUNNING", () => {
      const now = states(supervisord!);
      return now["procman:talker"] === "RUNNING" && now["procman:dep"] === "RUNNING";
    });
    const program = Number(await waitFor("talker's PID", () => existsSync(path.join(marks, "talker.pid")) && readFileSync(path.join(marks, "talker.pid"), "utf8").trim()));
    pids.push(program);
    await waitFor("talker to exec sleep", () => readFileSync(`/proc/${program}/cmdline`, "latin1") === "sleep\u00001000\u0000");
    assert.ok(existsSync(`/proc/${program}/fd/5`), "the program holds descriptor 5");
    assert.not.ok(existsSync(`/proc/${program}/fd/8`), "but not the proxy's own");
    assert.ok(isAlive(program), "no SIGPIPE");
    await supervisord.shutdown();
    await waitFor("the program to be gone", () => !isAlive(program), 10_000);
    assert.equal(processesMentioning(dir), [], "processes left behind");
  } finally {
    await cleanUp(supervisord, dir, pids);
  }
});

test("line breaks are refused, naming each process and the value", () => {
  const dir = makeTempDir("procman-supervisord-");
  const hostile = hostileModel({ dir, multiline: true, port: 1 });
  const error = generatorError(() => generateSupervisord(hostile.model));
  assert.is(error.code, "EGENERATE");
  assert.is(error.exitCode, 2);
  assert.match(error.message, "cannot generate supervisord configuration");
  assert.match(error.message, `first: supervisord's command= cannot carry a line break (in "real\\nnewline")`);
  assert.match(error.message, `second: supervisord's command= cannot carry a line break`);
  // A value with a line break is no longer on command=: environment= carries it encoded.
  assert.not.match(error.message, "NEWLINE");
  const env = generateSupervisord(resolve({ p: { process: "/bin/true", environment: { A: "x\ry" } } }, dir));
  assert.ok(env.files.some((file) => file.contents.includes(`PROCMAN_ENCODED_A="\\0170\\0015\\0171"`)), "x\\ry goes encoded in environment=");
  const directory = generatorError(() => generateSupervisord(resolve({ d: { process: "/bin/true", directory: `${dir}/a ;b` } }, dir)));
  assert.match(directory.message, 'd: directory contains whitespace followed by ";" or "#"');
  const trailing = generatorError(() => generateSupervisord(resolve({ t: { process: "/bin/true", directory: `${dir}/end ` } }, dir)));
  assert.match(trailing.message, "t: directory contains whitespace at its start or end");
  const equals = generatorError(() => generateSupervisord(resolve({ e: { process: "/opt/a=b/run" } }, dir)));
  assert.match(equals.message, 'e: an executable path with "="');
});

test("settings: priority by dependency layer, umask, stop signal and timeout, restart policy, user, nice, group warning", () => {
  const dir = makeTempDir("procman-supervisord-");
  const model = resolve(
    {
      a: { process: "/bin/sleep", args: ["1000"], restart: "always", umask: "027", stop: { signal: "INT", timeout: 2.5 } },
      b: { process: "/bin/sleep", args: ["1000"], restart: "no", activatesAfter: ["a"], user: "daemon", group: "daemon", nice: 7, readiness: { tcp: { port: 9 } } },
      c: { process: "/bin/sleep", args: ["1000"], activatesAfter: ["b"], directory: `${dir}/100% dir` },
    },
    dir,
  );
  const output = generateSupervisord(model);
  assert.equal(output.warnings, [
    "b: supervisord has no group setting; group daemon ignored",
    "a, c: supervisord restarts at once (restart.delay and maxDelay not carried) and gives up after startretries (= restart.limit.burst) failed starts in a row, whatever limit.interval says",
  ]);
  const b = model.processes[1]!;
  // The exact environment's last step (names only: the values are in environment=), then nice.
  const exact = exactArgv(b.environment);
  assert.equal(exact.slice(-3), ["sh", "PATH", "--"]);
  assert.equal(supervisordArgv(b, [model.processes[0]!]).slice(0, exact.length + 4), [...exact, "nice", "-n", "7", "/bin/sleep"]);
  assert.not.ok(supervisordArgv(b, [model.processes[0]!]).some((word) => word.includes(MINIMAL_PATH)), "a value on the command line");
  if (!need("supervisord", "supervisord settings")) return;
  const config = path.join(writeOutput(output), SUPERVISORD_CONF);
  runSetup(path.dirname(config));
  assertReadBack(model, config, "settings");
  const programs = supervisorRead(config);
  assert.equal([programs.a!.priority, programs.b!.priority, programs.c!.priority], [100, 110, 120]);
  assert.is(programs.a!.umask, 0o27);
  assert.is(programs.a!.stopsignal, 2);
  assert.is(programs.a!.stopwaitsecs, 3);
  assert.ok(programs.a!.stopasgroup && programs.a!.killasgroup);
  assert.match(programs.a!.autorestart, "RestartUnconditionally");
  assert.is(programs.b!.autorestart, "False");
  assert.match(programs.c!.autorestart, "RestartWhenExitUnexpected");
  assert.is(programs.b!.uid, 1);
  assert.is(programs.c!.directory, `${dir}/100% dir`);
  // The restart limit and the log size cap (rotated as procman does: NAME.log.1 newest).
  assert.is(programs.a!.startretries, 5);
  assert.is(programs.a!.stdout_logfile_maxbytes, 10 * 1024 * 1024);
  assert.is(programs.a!.stdout_logfile_backups, 3);
  // c waits for b's readiness (tcp), not for a's (started: nothing to wait for).
  assert.is(programs.c!.argv[0], "/bin/sh");
  assert.match(programs.c!.argv[2]!, "/dev/tcp/");
  // b waits for nothing: its argv starts with the exact environment's last step.
  assert.equal(programs.b!.argv.slice(0, 3), exactArgv(b.environment).slice(0, 3));
});

test("procman generate -P supervisord writes supervisord.conf and one file per program", async () => {
  const out = makeTempDir("procman-supervisord-cli-");
  const state = makeTempDir("procman-state-");
  const file = exampleFiles().find((candidate) => candidate.endsWith(path.join("webapp", "processes.ts")))!;
  const result = await procman(["generate", file, "-P", "supervisord", "--out", out, "--state-dir", state]);
  assert.is(result.code, 0, showCli(result));
  for (const name of [SUPERVISORD_CONF, "conf.d/procman-webapp.conf", "conf.d/procman-nginx.conf", "conf.d/procman.conf", "procman-setup.sh"]) {
    assert.ok(existsSync(path.join(out, name)), name);
  }
  assert.match(result.stderr, `sh '${path.join(out, "procman-setup.sh")}'`);
  assert.match(result.stderr, `supervisord -c '${path.join(out, SUPERVISORD_CONF)}'`);
  const bad = await procman(["generate", path.join(out, "missing.yaml"), "-P", "supervisord", "--out", out, "--state-dir", state]);
  assert.is(bad.code, 2, showCli(bad));
});

test("prefix: the group and the program files are namespaced; notify readiness, liveness and onFailure", () => {
  const dir = makeTempDir("procman-supervisord-");
  const model = resolve({ a: { process: "/bin/sleep", args: ["1"], restart: "no" }, b: { process: "/bin/sleep", args: ["1"], restart: "no" } }, dir);
  const output = generateSupervisord(model, { prefix: "shop" });
  assert.equal(output.files.map((file) => file.path).sort(), ["conf.d/shop-a.conf", "conf.d/shop-b.conf", "conf.d/shop.conf", "shop-setup.sh", SUPERVISORD_CONF]);
  assert.match(readGroup(output), "[group:shop]\nprograms=a,b\n");
  assert.equal(output.names, { a: "shop:a", b: "shop:b" });
  if (need("supervisord", "supervisord prefix")) {
    const confDir = writeOutput(output);
    runSetup(confDir, "shop");
    const programs = supervisorRead(path.join(confDir, SUPERVISORD_CONF));
    assert.equal([programs.a!.group, programs.b!.group], ["shop", "shop"]);
  }
  const notify = generatorError(() =>
    generateSupervisord({
      ...model,
      processes: [
        { ...model.processes[0]!, readiness: { kind: "notify", fd: 12, timeout: 5, interval: 0.1 } },
        { ...model.processes[1]!, user: "daemon", readiness: { kind: "notify", fd: 3, timeout: 5, interval: 0.1 } },
      ],
    }));
  assert.match(notify.message, "a: readiness notify on descriptor 12: the proxy (POSIX sh) can hand over descriptors 3 to 9 only");
  assert.match(notify.message, "b: readiness notify as user daemon needs a runtimeDirectory");
  const warned = generateSupervisord({
    ...model,
    processes: [{ ...model.processes[0]!, liveness: { kind: "tcp", host: "127.0.0.1", port: 1, interval: 10, timeout: 5, failures: 3 }, onFailure: "true" }],
  });
  assert.equal(warned.warnings, [
    "a: supervisord cannot run the tcp liveness check; not carried (a process that hangs is not restarted)",
    "a: onFailure is not carried to supervisord (an event listener could run it)",
  ]);
});

function readGroup(output: GeneratorOutput): string {
  return output.files.find((file) => file.path === "conf.d/shop.conf")!.contents;
}

test.run();
