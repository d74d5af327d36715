// sysvinit: the generated LSB init scripts run for real: start/status/stop with their LSB exit
// codes, the program gets its argv and environment byte for byte (newlines included: sh single
// quotes carry them), a stale PID file never makes the script signal someone else's process, and
// a self-daemonizing program starts and stops through its script. systemd-sysv-generator reads the
// LSB header.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateSysvinit } from "../../generators/sysvinit.js";
import { GeneratorError, type GeneratorOutput } from "../../generators/types.js";
import type { ResolvedModel, ResolvedProcess } from "../../src/model/types.js";
import { procman, show as showCli } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import {
  DAEMON,
  MINIMAL_PATH,
  NODE,
  REPORT,
  assertStartedAsDeclared,
  exampleFiles,
  fileOf,
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
  type Run,
  generatorError,
  resolveFor,
} from "./hostile.js";
import { need } from "./target-tools.js";

const resolve = (exported: unknown, dir: string): ResolvedModel => resolveFor("sysvinit", exported, dir);
/** The script name of a process under the default prefix. */
const S = (name: string) => `procman-${name}`;

/** Runs an init script action as `service` would: a clean, minimal environment (plus a canary the program must not see). */
function action(script: string, verb: string, options: { cwd?: string; viaSh?: boolean } = {}): Run & { elapsedMs: number } {
  const started = Date.now();
  const [command, args] = options.viaSh === true ? ["/bin/sh", [script, verb]] : [script, [verb]];
  const result = run(command, args as string[], { cwd: options.cwd ?? "/", env: { PATH: MINIMAL_PATH, LEAK_CANARY: "inherited" }, timeout: 90_000 });
  return { ...result, elapsedMs: Date.now() - started };
}

/** The LSB header as keyword → value. */
function lsbHeader(script: string): Record<string, string> {
  const begin = script.indexOf("### BEGIN INIT INFO\n");
  const end = script.indexOf("### END INIT INFO\n");
  assert.ok(begin >= 0 && end > begin, "LSB header");
  const header: Record<string, string> = {};
  for (const line of script.slice(begin, end).split("\n").slice(1)) {
    if (line === "") continue;
    const match = /^# ([A-Za-z-]+):[ \t]*(.*)$/.exec(line);
    assert.ok(match !== null, `header line ${JSON.stringify(line)}`);
    header[match![1]!] = match![2]!.trim();
  }
  return header;
}

/** systemd-sysv-generator run offline on the init.d directory: the .service files it writes. */
function sysvGenerator(initDir: string): Record<string, string> | undefined {
  const generator = "/lib/systemd/system-generators/systemd-sysv-generator";
  if (!existsSync(generator)) {
    if (process.env.CI === "true") throw new Error(`${generator} is required in CI`);
    console.log(`  SKIP systemd-sysv-generator: ${generator} is missing`);
    return undefined;
  }
  const work = makeTempDir("procman-sysv-gen-");
  for (const sub of ["out", "units", "rcnd"]) mkdirSync(path.join(work, sub));
  const out = path.join(work, "out");
  const result = run(generator, [out, out, out], {
    env: { SYSTEMD_SYSVINIT_PATH: initDir, SYSTEMD_SYSVRCND_PATH: path.join(work, "rcnd"), SYSTEMD_UNIT_PATH: path.join(work, "units"), SYSTEMD_LOG_LEVEL: "warning" },
  });
  assert.is(result.status, 0, show(result));
  const units: Record<string, string> = {};
  for (const name of readdirSync(out)) if (name.endsWith(".service")) units[name] = readFileSync(path.join(out, name), "utf8");
  return units;
}

function checkHeaders(model: ResolvedModel, output: GeneratorOutput, label: string): void {
  for (const spec of model.processes) {
    const header = lsbHeader(fileOf(output, `init.d/${S(spec.name)}`));
    assert.equal(header, {
      Provides: S(spec.name),
      "Required-Start": spec.activatesAfter.map(S).join(" "),
      "Required-Stop": spec.activatesAfter.map(S).join(" "),
      "Default-Start": "2 3 4 5",
      "Default-Stop": "0 1 6",
      "Short-Description": spec.description ?? spec.name,
      Description: spec.description ?? spec.name,
    }, `${label}: ${spec.name}`);
  }
}

test("every example: valid sh, LSB header, start-order links; systemd-sysv-generator reads the headers", async () => {
  for (const file of exampleFiles()) {
    const model = await resolveExample(file, makeTempDir("procman-state-"), "sysvinit");
    const output = generateSysvinit(model);
    assert.equal(
      output.warnings,
      model.processes
        .filter((spec) => spec.restart.policy !== "no")
        .map((spec) => `${spec.name}: an init script cannot restart a process that exits; restart ${spec.restart.policy} not carried`),
    );
    assert.equal(output.sharedFiles, []);
    assert.equal(
      Object.values(output.processFiles).flat().sort(),
      output.files.map((generated) => generated.path).sort(),
      "every file is one process's",
    );
    checkHeaders(model, output, file);
    const dir = writeOutput(output);
    for (const spec of model.processes) {
      const script = path.join(dir, "init.d", S(spec.name));
      assert.is(lstatSync(script).mode & 0o777, 0o755);
      const syntax = run("/bin/sh", ["-n", script]);
      assert.is(syntax.status, 0, show(syntax));
      const links = readdirSync(path.join(dir, "rc.d")).filter((link) => link.slice(3) === S(spec.name));
      assert.is(links.length, 2, `${file}: S and K links of ${spec.name}`);
      for (const link of links) assert.is(readlinkSync(path.join(dir, "rc.d", link)), `../init.d/${S(spec.name)}`);
    }
    // A dependency starts earlier and stops later than its dependents.
    const order = (prefix: string) => readdirSync(path.join(dir, "rc.d")).filter((link) => link.startsWith(prefix)).sort().map((link) => link.slice(3));
    for (const spec of model.processes) {
      for (const dependency of spec.activatesAfter) {
        assert.ok(order("S").indexOf(S(dependency)) < order("S").indexOf(S(spec.name)), `${file}: S order`);
        assert.ok(order("K").indexOf(S(dependency)) > order("K").indexOf(S(spec.name)), `${file}: K order`);
      }
    }
    const units = sysvGenerator(path.join(dir, "init.d"));
    if (units === undefined) continue;
    assert.equal(Object.keys(units).sort(), model.processes.map(({ name }) => `${S(name)}.service`).sort());
    for (const spec of model.processes) {
      const unit = units[`${S(spec.name)}.service`]!;
      assert.match(unit, `Description=LSB: ${(spec.description ?? spec.name).replace(/%/g, "%%")}\n`);
      for (const dependency of spec.activatesAfter) assert.match(unit, new RegExp(`^After=.*\\b${S(dependency)}\\.service`, "m"));
      assert.match(unit, `ExecStart=${path.join(dir, "init.d", S(spec.name))} start`);
    }
  }
});

test("hostile model: start, status, exact argv and environment (newlines too), dependency order, stop, status 3, nothing left", async () => {
  if (!need("setsid", "sysvinit hostile run") || !need("bash", "sysvinit hostile run")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const delayMs = 1000;
  const hostile = hostileModel({ dir, multiline: true, port: await freePort(), delayMs });
  const output = generateSysvinit(hostile.model);
  checkHeaders(hostile.model, output, "hostile");
  const scripts = path.join(writeOutput(output, path.join(dir, "sysv")), "init.d");
  const [firstProcess, secondProcess] = hostile.model.processes;
  const pids: number[] = [];
  try {
    const startFirst = action(path.join(scripts, S("first")), "start");
    assert.is(startFirst.status, 0, show(startFirst));
    assert.ok(startFirst.elapsedMs >= delayMs, `start returned after ${startFirst.elapsedMs} ms, before first was ready`);
    const first = readReport(hostile.reportFile("first"));
    pids.push(first.pid);
    const startSecond = action(path.join(scripts, S("second")), "start");
    assert.is(startSecond.status, 0, show(startSecond));
    const second = await waitForReport(hostile.reportFile("second"));
    pids.push(second.pid);

    assertStartedAsDeclared(first, hostile.argv.first!, hostile.env.first!, "first");
    assertStartedAsDeclared(second, hostile.argv.second!, hostile.env.second!, "second");
    assert.is(first.cwd, hostile.workDir);
    assert.is(second.cwd, "/");
    assert.ok(second.started >= Number(readFileSync(`${hostile.reportFile("first")}.ready`, "utf8")));
    for (const [spec, report] of [[firstProcess!, first], [secondProcess!, second]] as const) {
      assert.is(readFileSync(spec.pidFile, "utf8"), `${report.pid}\n`, `${spec.name}: the PID file names the program itself`);
      assert.is(report.session, report.pid, `${spec.name}: a session of its own`);
      const status = action(path.join(scripts, S(spec.name)), "status");
      assert.is(status.status, 0, show(status));
      assert.match(status.stdout, `${spec.name} is running`);
      assert.ok(existsSync(spec.logFile), `log file ${spec.logFile}`);
    }
    // start on a running service: exit 0, no second instance.
    const again = action(path.join(scripts, S("first")), "start");
    assert.is(again.status, 0, show(again));
    assert.is(readFileSync(firstProcess!.pidFile, "utf8"), `${first.pid}\n`);

    for (const name of ["second", "first"]) {
      const stop = action(path.join(scripts, S(name)), "stop");
      assert.is(stop.status, 0, show(stop));
      const status = action(path.join(scripts, S(name)), "status");
      assert.is(status.status, 3, show(status));
      assert.match(status.stdout, `${name} is not running`);
    }
    assert.not.ok(isAlive(first.pid) || isAlive(second.pid), "stop returned before the program was gone");
    assert.not.ok(existsSync(firstProcess!.pidFile) || existsSync(`${firstProcess!.pidFile}.start`));
    // stop on a stopped service: exit 0.
    assert.is(action(path.join(scripts, S("first")), "stop").status, 0);
    assert.equal(processesMentioning(dir), []);
  } finally {
    for (const name of ["second", "first"]) action(path.join(scripts, S(name)), "stop");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("a stale PID file naming an unrelated live process: status does not say running, stop does not signal it", async () => {
  if (!need("setsid", "sysvinit stale PID file")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const reportFile = path.join(dir, "p.json");
  const model = resolve({ p: { foregroundProcess: NODE, args: [REPORT], environment: { REPORT_FILE: reportFile } } }, dir);
  const spec = model.processes[0]!;
  const script = path.join(writeOutput(generateSysvinit(model), path.join(dir, "sysv")), "init.d", S("p"));
  const unrelated = spawn("/bin/sleep", ["1000"], { stdio: "ignore" });
  const pids: number[] = [];
  try {
    mkdirSync(path.dirname(spec.pidFile), { recursive: true });
    const startTime = () => {
      const stat = readFileSync(`/proc/${unrelated.pid}/stat`, "latin1");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    };
    for (const start of [undefined, "12345", `${Number(startTime()) + 1}`]) {
      writeFileSync(spec.pidFile, `${unrelated.pid}\n`);
      if (start !== undefined) writeFileSync(`${spec.pidFile}.start`, `${start}\n`);
      const status = action(script, "status");
      assert.is.not(status.status, 0, `status with .start ${start}: ${show(status)}`);
      assert.is(status.status, 1, "dead, but the PID file exists");
      assert.not.match(status.stdout, "is running");
      const stop = action(script, "stop");
      assert.is(stop.status, 0, show(stop));
      await new Promise((resolve) => setTimeout(resolve, 100)); // a signal sent by stop would have landed by now
      assert.ok(isAlive(unrelated.pid!), `stop killed an unrelated process (.start ${start})`);
    }
    // start over a stale PID file starts the program; stop then stops only the program.
    writeFileSync(spec.pidFile, `${unrelated.pid}\n`);
    const start = action(script, "start");
    assert.is(start.status, 0, show(start));
    const report = await waitForReport(reportFile);
    pids.push(report.pid);
    assert.is.not(report.pid, unrelated.pid);
    assert.is(action(script, "status").status, 0);
    assert.is(action(script, "stop").status, 0);
    assert.not.ok(isAlive(report.pid));
    assert.ok(isAlive(unrelated.pid!), "the unrelated process survived");
    // The recorded start time is the program's own: its PID file alone is not trusted.
    assert.is(action(script, "status").status, 3);
  } finally {
    unrelated.kill("SIGKILL");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("a self-daemonizing program (PID file without a newline) starts and stops through its script", async () => {
  if (!need("setsid", "sysvinit daemon")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const pidFile = path.join(dir, "state", "run", "db 100%.pid");
  const reportFile = path.join(dir, "db.json");
  const args = ["--db", "line\nbreak", "it's", ""];
  const environment = { PID_FILE: pidFile, REPORT_FILE: reportFile, MULTI: "a\nb" };
  const model = resolve({ db: { description: "A daemon", daemon: NODE, daemonArgs: [DAEMON, ...args], pidFile, environment, stop: { signal: "SIGINT", timeout: 5 } } }, dir);
  const scripts = path.join(writeOutput(generateSysvinit(model), path.join(dir, "sysv")), "init.d");
  const pids: number[] = [];
  try {
    // Run as `sh db start` from inside init.d: $0 is relative.
    const start = action(S("db"), "start", { cwd: scripts, viaSh: true });
    assert.is(start.status, 0, show(start));
    // Ready (readiness: the PID file names a live process) before the daemon has written its report.
    const report = await waitForReport(reportFile);
    pids.push(report.pid);
    assertStartedAsDeclared(report, [NODE, REPORT, ...args], { ...environment, PATH: MINIMAL_PATH }, "db");
    assert.is(readFileSync(pidFile, "utf8").trim(), String(report.pid));
    assert.is(action(path.join(scripts, S("db")), "status").status, 0);
    const stop = action(path.join(scripts, S("db")), "stop");
    assert.is(stop.status, 0, show(stop));
    assert.not.ok(isAlive(report.pid), "the daemon survived stop");
    assert.is(action(path.join(scripts, S("db")), "status").status, 3);
    assert.equal(processesMentioning(dir), []);
  } finally {
    action(path.join(scripts, S("db")), "stop");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("identity, umask, nice and directory reach the program; other actions' exit codes", async () => {
  if (!need("setsid", "sysvinit settings") || !need("setpriv", "sysvinit settings")) return;
  const dir = makeTempDir("procman-sysvinit-");
  chmodSync(dir, 0o777);
  const work = path.join(dir, "work");
  mkdirSync(work, { mode: 0o777 });
  chmodSync(work, 0o777);
  const root = process.getuid?.() === 0;
  if (!root) console.log("  NOTE sysvinit settings: not root, the user switch is not exercised");
  const model = resolve(
    {
      web: {
        foregroundProcess: NODE,
        args: [REPORT],
        environment: { REPORT_FILE: path.join(work, "web.json") },
        directory: work,
        umask: "027",
        nice: 5,
        ...(root ? { user: "daemon" } : {}),
      },
    },
    dir,
  );
  const script = path.join(writeOutput(generateSysvinit(model), path.join(dir, "sysv")), "init.d", S("web"));
  const pids: number[] = [];
  try {
    const start = action(script, "start");
    assert.is(start.status, 0, show(start));
    const report = await waitForReport(path.join(work, "web.json"));
    pids.push(report.pid);
    assert.is(report.cwd, work);
    assert.is(report.umask, "0027");
    assert.is(report.nice, 5);
    if (root) {
      assert.is(report.uid, 1, "user daemon");
      assert.is(report.gid, 1, "the user's primary group, not root's");
    }
    assert.is(action(script, "bogus").status, 2);
    const restart = action(script, "restart");
    assert.is(restart.status, 0, show(restart));
    const restarted = await waitFor("the restarted program", () => {
      const next = existsSync(path.join(work, "web.json")) ? readReport(path.join(work, "web.json")) : undefined;
      return next !== undefined && next.pid !== report.pid ? next : undefined;
    });
    pids.push(restarted.pid);
    assert.not.ok(isAlive(report.pid));
    assert.is(action(script, "stop").status, 0);
    assert.not.ok(isAlive(restarted.pid));
    assert.is(action(script, "reload").status, 7, "reload on a stopped service");
  } finally {
    action(script, "stop");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("initialize runs as the process runs: in its directory, with its umask and exact environment", () => {
  const dir = makeTempDir("procman-sysvinit-");
  const work = path.join(dir, "work");
  mkdirSync(work);
  const model = resolve(
    { svc: { process: "/bin/sleep", args: ["1000"], directory: work, umask: "077", environment: { MARK: "m" }, initialize: 'echo "$MARK${LEAK_CANARY:-}" > made-by-init' } },
    dir,
  );
  const scripts = path.join(writeOutput(generateSysvinit(model), path.join(dir, "sysv")), "init.d");
  try {
    const start = action(path.join(scripts, S("svc")), "start");
    assert.is(start.status, 0, show(start));
    const made = path.join(work, "made-by-init");
    assert.is(readFileSync(made, "utf8"), "m\n", "the declared environment, nothing inherited");
    assert.is(statSync(made).mode & 0o777, 0o600, "the umask applied");
  } finally {
    assert.is(action(path.join(scripts, S("svc")), "stop").status, 0);
  }
});

test("overrides.sysvinit sets and adds LSB header keywords, one line each", () => {
  const dir = makeTempDir("procman-sysvinit-");
  const output = generateSysvinit(
    resolve({ e: { process: "/bin/true", overrides: { sysvinit: { "Default-Start": "3 5", "Should-Start": ["network", "time"], "X-Note": "a b" } } } }, dir),
  );
  const header = lsbHeader(fileOf(output, `init.d/${S("e")}`));
  assert.is(header["Default-Start"], "3 5");
  assert.is(header["Should-Start"], "network time");
  assert.is(header["X-Note"], "a b");
  assert.is(header.Provides, S("e"));
});

test("an executable with = is refused (env would read it as an assignment)", () => {
  const dir = makeTempDir("procman-sysvinit-");
  let error: unknown;
  try {
    generateSysvinit(resolve({ e: { process: "/opt/a=b/run" } }, dir));
  } catch (caught) {
    error = caught;
  }
  assert.instance(error, GeneratorError);
  assert.match((error as Error).message, 'e: an executable path with "="');
});

test("start creates the log and PID directories and the process's own directories (owner, mode, last component only); a planted link is refused", async () => {
  if (!need("setsid", "sysvinit directories")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const root = process.getuid?.() === 0;
  const base = resolve({ svc: { process: "/bin/sleep", args: ["1000"], restart: "no", ...(root ? { user: "bin" } : {}) } }, dir);
  const state = path.join(dir, "state");
  const stateDirectory = path.join(state, "lib", "svc data");
  const runtimeDirectory = path.join(state, "run", "svc");
  const spec: ResolvedProcess = {
    ...base.processes[0]!,
    stateDirectory: { path: stateDirectory, mode: "0750" },
    runtimeDirectory: { path: runtimeDirectory, mode: "0700" },
  };
  const model = { ...base, processes: [spec] };
  const scripts = path.join(writeOutput(generateSysvinit(model), path.join(dir, "sysv")), "init.d");
  const script = path.join(scripts, S("svc"));
  assert.not.ok(existsSync(state), "nothing exists before the start");
  try {
    const start = action(script, "start");
    assert.is(start.status, 0, show(start));
    for (const [target, mode] of [[stateDirectory, 0o750], [runtimeDirectory, 0o700]] as const) {
      const info = lstatSync(target);
      assert.ok(info.isDirectory(), target);
      assert.is(info.mode & 0o777, mode, target);
      if (root) assert.equal([info.uid, info.gid], [2, 2], `${target}: user bin and its primary group`);
    }
    assert.ok(existsSync(path.dirname(spec.logFile)) && existsSync(path.dirname(spec.pidFile)));
    if (root) assert.is(lstatSync(path.dirname(spec.logFile)).uid, 0, "the log directory stays the manager's");
    assert.is(action(script, "stop").status, 0);
    // The service replaced its directory by a link to somewhere else: the next start refuses it.
    const victim = makeTempDir("procman-victim-");
    chmodSync(victim, 0o755);
    rmSync(runtimeDirectory, { recursive: true });
    symlinkSync(victim, runtimeDirectory);
    const refused = action(script, "start");
    assert.is(refused.status, 1, show(refused));
    assert.match(refused.stderr, `procman: ${runtimeDirectory} exists and is not a directory`);
    assert.is(lstatSync(victim).uid, process.getuid?.() ?? 0, "the link's target was not chowned");
    assert.is(lstatSync(victim).mode & 0o777, 0o755, "nor chmodded");
  } finally {
    action(script, "stop");
    killAll(processesMentioning(dir));
  }
});

test("readiness file: a stale file or a link is removed before the start; start returns once the process creates it", async () => {
  if (!need("setsid", "sysvinit readiness file")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const ready = path.join(dir, "ready file");
  const base = resolve({ r: { process: "/bin/sh", args: ["-c", `sleep 1; : > '${ready}'; exec sleep 1000`], restart: "no" } }, dir);
  const spec: ResolvedProcess = { ...base.processes[0]!, readiness: { kind: "file", path: ready, timeout: 10, interval: 0.1 } };
  const script = path.join(writeOutput(generateSysvinit({ ...base, processes: [spec] }), path.join(dir, "sysv")), "init.d", S("r"));
  writeFileSync(path.join(dir, "elsewhere"), "kept");
  symlinkSync(path.join(dir, "elsewhere"), ready);
  try {
    const start = action(script, "start");
    assert.is(start.status, 0, show(start));
    assert.ok(start.elapsedMs >= 1000, `start returned after ${start.elapsedMs} ms: the planted link counted as ready`);
    assert.ok(lstatSync(ready).isFile() && !lstatSync(ready).isSymbolicLink());
    assert.is(readFileSync(path.join(dir, "elsewhere"), "utf8"), "kept", "the link was removed, not followed");
  } finally {
    action(script, "stop");
    killAll(processesMentioning(dir));
  }
});

test("readiness notify: start returns once a line ends on the descriptor; never without one; the process never gets SIGPIPE", async () => {
  if (!need("setsid", "sysvinit notify") || !need("dd", "sysvinit notify")) return;
  const dir = makeTempDir("procman-sysvinit-");
  const marks = path.join(dir, "marks");
  mkdirSync(marks);
  // Writes half a line, then the rest a second later; once start has returned, writes again
  // (nobody reads any more: SIGPIPE would kill it) and records that it lived on.
  const talker = `printf 're' >&5; sleep 1; echo 'ady' >&5; sleep 1; echo again >&5 && : > '${marks}/alive'; exec sleep 1000`;
  const models: Record<string, [string, number]> = {
    talker: [talker, 10],
    silent: ["exec sleep 1000", 1],
    quitter: ["exit 3", 10],
  };
  const scripts: Record<string, string> = {};
  for (const [name, [body, timeout]] of Object.entries(models)) {
    const base = resolve({ [name]: { process: "/bin/sh", args: ["-c", body], restart: "no" } }, dir);
    const spec: ResolvedProcess = { ...base.processes[0]!, readiness: { kind: "notify", fd: 5, timeout, interval: 0.1 } };
    const out = writeOutput(generateSysvinit({ ...base, processes: [spec] }), path.join(dir, `sysv-${name}`));
    scripts[name] = path.join(out, "init.d", S(name));
  }
  try {
    const started = action(scripts.talker!, "start");
    assert.is(started.status, 0, show(started));
    assert.ok(started.elapsedMs >= 1000, `start returned after ${started.elapsedMs} ms, before the line ended`);
    const pid = Number(readFileSync(path.join(dir, "state", "run", "talker.pid"), "utf8"));
    await waitFor("the write after start returned", () => existsSync(path.join(marks, "alive")));
    await waitFor("talker to exec sleep", () => readFileSync(`/proc/${pid}/cmdline`, "latin1").startsWith("sleep"));
    assert.ok(isAlive(pid), "no SIGPIPE");
    assert.ok(existsSync(`/proc/${pid}/fd/5`), "the process holds descriptor 5");
    assert.not.ok(existsSync(`/proc/${pid}/fd/8`), "but not the script's own");

    const silent = action(scripts.silent!, "start");
    assert.is(silent.status, 1, show(silent));
    assert.match(silent.stderr, "silent: not ready after 1 s (no line on descriptor 5)");
    assert.is(action(scripts.silent!, "status").status, 3, "a failed start is stopped");

    const quitter = action(scripts.quitter!, "start");
    assert.is(quitter.status, 1, show(quitter));
    assert.match(quitter.stderr, "quitter: exited before it was ready");
    assert.ok(quitter.elapsedMs < 5000, `noticed the exit after ${quitter.elapsedMs} ms, not at the timeout`);
  } finally {
    for (const script of Object.values(scripts)) action(script, "stop");
    killAll(processesMentioning(dir));
  }
});

test("prefix, warnings for what an init script cannot carry, notify above 9 refused", () => {
  const dir = makeTempDir("procman-sysvinit-");
  const model = resolve({ a: { process: "/bin/true", restart: "always" }, b: { process: "/bin/true", restart: "no", activatesAfter: ["a"] } }, dir);
  const output = generateSysvinit(
    { ...model, processes: [model.processes[0]!, { ...model.processes[1]!, liveness: { kind: "command", command: "true", interval: 10, timeout: 5, failures: 3 } }] },
    { prefix: "shop" },
  );
  assert.equal(output.files.map((file) => file.path).sort(), ["default/shop-a", "default/shop-b", "init.d/shop-a", "init.d/shop-b", "rc.d/K97shop-b", "rc.d/K98shop-a", "rc.d/S01shop-a", "rc.d/S02shop-b"]);
  assert.equal(output.names, { a: "shop-a", b: "shop-b" });
  assert.is(lsbHeader(fileOf(output, "init.d/shop-b"))["Required-Start"], "shop-a");
  assert.equal(output.warnings, [
    "a: an init script cannot restart a process that exits; restart always not carried",
    "b: an init script cannot run the command liveness check; not carried",
  ]);
  const notify = generatorError(() =>
    generateSysvinit({ ...model, processes: [{ ...model.processes[0]!, readiness: { kind: "notify", fd: 10, timeout: 5, interval: 0.1 } }] }));
  assert.match(notify.message, "a: readiness notify on descriptor 10: an init script (POSIX sh) can hand over descriptors 3 to 9 only");
  assert.match(generatorError(() => generateSysvinit(model, { prefix: "" })).message, 'prefix "" must match');
});

test("procman generate -P sysvinit writes the scripts and the rc.d links", async () => {
  const out = makeTempDir("procman-sysvinit-cli-");
  const state = makeTempDir("procman-state-");
  const file = exampleFiles().find((candidate) => candidate.endsWith(path.join("webapp", "processes.yaml")))!;
  const result = await procman(["generate", file, "-P", "sysvinit", "--out", out, "--state-dir", state]);
  assert.is(result.code, 0, showCli(result));
  assert.is(lstatSync(path.join(out, "init.d", S("nginx"))).mode & 0o777, 0o755);
  assert.is(readlinkSync(path.join(out, "rc.d", `S01${S("webapp")}`)), `../init.d/${S("webapp")}`);
  assert.is(readlinkSync(path.join(out, "rc.d", `S02${S("nginx")}`)), `../init.d/${S("nginx")}`);
  assert.is(readlinkSync(path.join(out, "rc.d", `K97${S("nginx")}`)), `../init.d/${S("nginx")}`);
  assert.match(result.stderr, `/etc/init.d/${S("webapp")} start && /etc/init.d/${S("nginx")} start`);
});

test.run();
