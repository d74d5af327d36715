// launchd: every plist parses with python3 plistlib and with plistutil, and carries the declared
// argv and environment exactly. launchd itself does not run on Linux, so the argv of a plist is run
// the way launchd runs it (execvp, no shell, EnvironmentVariables as the whole environment, in
// WorkingDirectory): the dependency wait and the daemon proxy are checked for real.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { daemonProxy } from "../../generators/daemon-proxy.js";
import { generateLaunchd, launchdArgv } from "../../generators/launchd.js";
import { dependencyWrapper, startWrapper } from "../../generators/readiness-script.js";
import type { GeneratorOutput } from "../../generators/types.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { procman, show as showCli } from "../helpers/cli.js";
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
import { need, plistlibLoad, plistutilLoad } from "./target-tools.js";

type Plist = Record<string, unknown> & {
  Label: string;
  ProgramArguments: string[];
  EnvironmentVariables: Record<string, string>;
  WorkingDirectory: string;
};

const resolve = (exported: unknown, dir: string): ResolvedModel => resolveFor("launchd", exported, dir);
const LAUNCHD_PREFIX = "org.procman.";


/** Every plist of the output, as plistlib reads it; plistutil must read the same. */
function loadAll(output: GeneratorOutput): Record<string, Plist> {
  const dir = writeOutput(output);
  const plists: Record<string, Plist> = {};
  const withPlistutil = need("plistutil", "launchd plists with plistutil");
  const [name, label] = Object.entries(output.names)[0] ?? ["", LAUNCHD_PREFIX];
  const prefix = label.slice(0, label.length - name.length);
  const plistFiles = new Set(Object.values(output.processFiles).flat());
  assert.equal(output.files.filter((file) => !plistFiles.has(file.path)).map((file) => file.path), output.sharedFiles);
  for (const file of output.files.filter((candidate) => plistFiles.has(candidate.path))) {
    assert.ok(file.path.startsWith(prefix) && file.path.endsWith(".plist"), file.path);
    const full = path.join(dir, file.path);
    const plist = plistlibLoad(full) as Plist;
    if (withPlistutil) assert.equal(plistutilLoad(full), plist, `plistutil reads ${file.path} differently`);
    assert.is(`${plist.Label}.plist`, file.path);
    plists[plist.Label.slice(prefix.length)] = plist;
  }
  return plists;
}

/** Starts a plist's program as launchd would. */
function launch(plist: Plist): ChildProcess {
  const [program, ...args] = plist.ProgramArguments;
  return spawn(program!, args, { env: plist.EnvironmentVariables, cwd: plist.WorkingDirectory, stdio: "ignore" });
}

function exitOf(child: ChildProcess, timeoutMs = 20_000): Promise<number | string | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PID ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

test("every example: plists parse (plistlib, plistutil) and carry the declared argv and environment", async () => {
  if (!need("python3", "launchd examples")) return;
  for (const file of exampleFiles()) {
    const model = await resolveExample(file, makeTempDir("procman-state-"), "launchd");
    const output = generateLaunchd(model);
    assert.equal(
      output.warnings,
      model.processes
        .filter((spec) => spec.restart.policy !== "no")
        .map((spec) => `${spec.name}: launchd respawns at most every ThrottleInterval (${Math.max(1, Math.round(spec.restart.delay))} s); restart.maxDelay and restart.limit are not carried`),
    );
    assert.equal(output.sharedFiles, ["procman-setup.sh"]);
    const plists = loadAll(output);
    const byName = new Map(model.processes.map((spec) => [spec.name, spec]));
    assert.equal(Object.keys(plists).sort(), [...byName.keys()].sort());
    for (const spec of model.processes) {
      const plist = plists[spec.name]!;
      assert.equal(plist.ProgramArguments, launchdArgv(spec, spec.activatesAfter.map((name) => byName.get(name)!)), `${file}: ${spec.name}`);
      const declared = spec.foreground !== undefined ? [spec.foreground.executable, ...spec.foreground.args] : daemonProxy(spec);
      assert.equal(plist.ProgramArguments.slice(-declared.length), declared, `${file}: ${spec.name}: the declared argv is the tail`);
      assert.equal(plist.EnvironmentVariables, spec.environment, `${file}: ${spec.name}`);
      assert.is(plist.RunAtLoad, true);
    }
  }
});

test("hostile model: ProgramArguments and EnvironmentVariables are the declared ones (newlines, CR, &, <, > included)", async () => {
  if (!need("python3", "launchd hostile model")) return;
  const dir = makeTempDir("procman-launchd-");
  const hostile = hostileModel({ dir, multiline: true, port: await freePort() });
  const plists = loadAll(generateLaunchd(hostile.model));
  const [firstProcess, secondProcess] = hostile.model.processes;
  const first = plists.first!;
  const second = plists.second!;
  assert.equal(first.ProgramArguments, hostile.argv.first);
  assert.equal(second.ProgramArguments.slice(0, 2), ["/bin/sh", "-c"]);
  assert.is(second.ProgramArguments[2], dependencyWrapper([firstProcess!], secondProcess!.environment));
  assert.equal(second.ProgramArguments.slice(3), hostile.argv.second);
  assert.equal(first.EnvironmentVariables, hostile.env.first);
  assert.equal(second.EnvironmentVariables, hostile.env.second);
  assert.ok(first.ProgramArguments.includes("crlf\r\n") && first.ProgramArguments.includes("<tag>") && first.ProgramArguments.includes("&amp;"));
  assert.is(first.EnvironmentVariables.CR, "cr\rhere");
  assert.is(first.WorkingDirectory, hostile.workDir);
  assert.is(second.WorkingDirectory, "/");
  assert.is(first.StandardOutPath, firstProcess!.logFile);
  assert.is(first.StandardErrorPath, firstProcess!.logFile);
  assert.match(first.StandardOutPath as string, "%");
  assert.is(first.KeepAlive, false, "restart: no");
  assert.is(first.ExitTimeOut, 5);
});

test("run as launchd runs it: second waits for first to be ready, both get exactly their argv and environment", async () => {
  if (!need("bash", "launchd dependency wait")) return;
  const dir = makeTempDir("procman-launchd-");
  const delayMs = 1000;
  const hostile = hostileModel({ dir, multiline: true, port: await freePort(), delayMs });
  const plists = loadAll(generateLaunchd(hostile.model));
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  try {
    // The dependent first: it must wait (first opens its port only delayMs after its start).
    const second = launch(plists.second!);
    children.push(second);
    const first = launch(plists.first!);
    children.push(first);
    const firstReport = await waitForReport(hostile.reportFile("first"));
    pids.push(firstReport.pid);
    const secondReport = await waitForReport(hostile.reportFile("second"));
    pids.push(secondReport.pid);
    assert.is(secondReport.pid, second.pid, "the wrapper execs the program in place");
    const readyAt = Number(readFileSync(`${hostile.reportFile("first")}.ready`, "utf8"));
    assert.ok(secondReport.started >= readyAt, `second started at ${secondReport.started}, first was ready at ${readyAt}`);
    assertStartedAsDeclared(firstReport, hostile.argv.first!, hostile.env.first!, "first");
    assertStartedAsDeclared(secondReport, hostile.argv.second!, hostile.env.second!, "second");
    assert.is(firstReport.cwd, hostile.workDir);
    // launchd stops with SIGTERM.
    for (const child of children) child.kill("SIGTERM");
    for (const child of children) await exitOf(child);
    assert.equal(processesMentioning(dir), []);
  } finally {
    for (const child of children) child.kill("SIGKILL");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("a daemon runs behind the proxy: exact argv/env, TERM reaches the daemon (exit 0), a daemon that dies makes it exit 1", async () => {
  if (!need("python3", "launchd daemon proxy")) return;
  const dir = makeTempDir("procman-launchd-");
  const pidFile = path.join(dir, "state", "run", "db 'x'.pid");
  const reportFile = path.join(dir, "db.json");
  const args = ["with space", "$HOME", "'", "line\nbreak", ""];
  // The launcher waits for this file: present, it daemonizes at once; absent, it holds.
  const holdFile = path.join(dir, "launch");
  const environment = { PID_FILE: pidFile, REPORT_FILE: reportFile, NEWLINE: "a\nb", LAUNCH_HOLD: holdFile };
  // initialize creates the PID file's directory: without it the daemon cannot start.
  const initialize = 'mkdir -p "$(dirname "$PID_FILE")"\nprintf %s "$NEWLINE" > "$REPORT_FILE.init"';
  const model = resolve({ db: { daemon: NODE, daemonArgs: [DAEMON, ...args], pidFile, environment, initialize, stop: { signal: "SIGINT" } } }, dir);
  const plist = loadAll(generateLaunchd(model)).db!;
  const proxy = daemonProxy(model.processes[0]!);
  assert.equal(plist.ProgramArguments.slice(0, 3), ["/bin/sh", "-c", startWrapper([], model.processes[0]!, model.processes[0]!.environment)]);
  assert.equal(plist.ProgramArguments.slice(3), proxy);
  assert.equal(plist.ProgramArguments.slice(6), [NODE, DAEMON, ...args]);
  const pids: number[] = [];
  const children: ChildProcess[] = [];
  try {
    writeFileSync(holdFile, "");
    for (const ending of ["stopped", "died"] as const) {
      const proxy = launch(plist);
      children.push(proxy);
      const report = await waitFor("the daemon's report", () => {
        if (!existsSync(reportFile)) return undefined;
        const next = readReport(reportFile);
        return pids.includes(next.pid) ? undefined : next;
      });
      pids.push(report.pid);
      assertStartedAsDeclared(report, [NODE, REPORT, ...args], { ...environment, PATH: MINIMAL_PATH }, "db");
      assert.is(readFileSync(`${reportFile}.init`, "utf8"), "a\nb", "initialize ran with the declared environment");
      if (ending === "stopped") {
        proxy.kill("SIGTERM");
        assert.is(await exitOf(proxy), 0);
      } else {
        process.kill(report.pid, "SIGKILL");
        assert.is(await exitOf(proxy), 1);
      }
      await waitFor("the daemon to be gone", () => !isAlive(report.pid));
    }
    // Stopped while the daemon's start command runs (held until the stop is sent): the stop still
    // reaches the daemon.
    rmSync(holdFile);
    const early = launch(plist);
    children.push(early);
    const launcher = `${NODE}\0${DAEMON}\0`;
    const launching = () => processesMentioning(DAEMON).some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(launcher);
      } catch {
        return false;
      }
    });
    await waitFor("the proxy to run the daemon's start command", launching);
    early.kill("SIGTERM");
    writeFileSync(holdFile, "");
    assert.is(await exitOf(early), 0);
    await waitFor("nothing left of the early-stopped daemon", () => processesMentioning(dir).length === 0, 10_000);
    assert.equal(processesMentioning(dir), []);
  } finally {
    for (const child of children) child.kill("SIGKILL");
    killAll([...pids, ...processesMentioning(dir)]);
  }
});

test("a failing initialize: the program does not start, the wrapper exits 1 saying why", async () => {
  if (!need("python3", "launchd initialize")) return;
  const dir = makeTempDir("procman-launchd-");
  const reportFile = path.join(dir, "p.json");
  const model = resolve({ p: { foregroundProcess: NODE, args: [REPORT], environment: { REPORT_FILE: reportFile }, initialize: "echo trying; exit 3" } }, dir);
  const plist = loadAll(generateLaunchd(model)).p!;
  assert.equal(plist.ProgramArguments.slice(3), [NODE, REPORT]);
  const [program, ...args] = plist.ProgramArguments;
  const result = run(program!, args, { env: plist.EnvironmentVariables, cwd: plist.WorkingDirectory });
  assert.is(result.status, 1, show(result));
  assert.is(result.stdout, "trying\n");
  assert.is(result.stderr, "procman: p: initialize failed\n");
  assert.not.ok(existsSync(reportFile));
});

// A review: a dependent of a process without a readiness check got no wrapper, without a word.
test("a dependency without a readiness check cannot be waited for at load: a warning names both", () => {
  const dir = makeTempDir("procman-launchd-");
  const output = generateLaunchd(
    resolve(
      {
        web: { process: "/bin/sleep", args: ["1"] },
        db: { process: "/bin/sleep", args: ["1"], readiness: { tcp: { port: 5432 } } },
        dep: { process: "/bin/sleep", args: ["1"], activatesAfter: ["web", "db"] },
      },
      dir,
    ),
  );
  const about = output.warnings.filter((warning) => warning.includes("no readiness check"));
  assert.equal(about, ["dep: activatesAfter web, which has no readiness check: launchd may start dep before web runs when it loads them itself (at boot); give web a readiness check"]);
});

test("settings: Umask in decimal, Nice, UserName/GroupName, KeepAlive from the restart policy, overrides merged", () => {
  if (!need("python3", "launchd settings")) return;
  const dir = makeTempDir("procman-launchd-");
  const model = resolve(
    {
      a: { process: "/bin/sleep", args: ["1"], umask: "022", restart: "always", nice: -5, user: "daemon", group: "daemon", stop: { timeout: 2.5 } },
      b: { process: "/bin/sleep", args: ["1"], umask: "027", restart: { policy: "on-failure", delay: 7 } },
      c: { process: "/bin/sleep", args: ["1"], umask: "0077", restart: "no", overrides: { launchd: { KeepAlive: { PathState: { "/tmp/x": true } }, ProcessType: "Background" } } },
    },
    dir,
  );
  const plists = loadAll(generateLaunchd(model));
  assert.is(plists.a!.Umask, 18);
  assert.is(plists.b!.Umask, 23);
  assert.is(plists.c!.Umask, 63);
  assert.is(plists.a!.Nice, -5);
  assert.is(plists.a!.UserName, "daemon");
  assert.is(plists.a!.GroupName, "daemon");
  assert.not.ok("UserName" in plists.b!);
  assert.is(plists.a!.KeepAlive, true);
  assert.equal(plists.b!.KeepAlive, { SuccessfulExit: false });
  assert.equal(plists.c!.KeepAlive, { PathState: { "/tmp/x": true } }, "overrides replace a key");
  assert.is(plists.c!.ProcessType, "Background", "overrides add a key");
  assert.is(plists.a!.ExitTimeOut, 3);
  assert.is(plists.b!.ThrottleInterval, 7);
  const file = generateLaunchd(model).files.find((generated) => generated.path === `${LAUNCHD_PREFIX}a.plist`)!;
  assert.match(file.contents, "<key>Umask</key>\n  <integer>18</integer>");
});

test("control characters XML 1.0 cannot carry are refused, naming the process and where; &, <, >, CR survive", () => {
  const dir = makeTempDir("procman-launchd-");
  const error = generatorError(() =>
    generateLaunchd(resolve({ ok: { process: "/bin/true" }, bad: { process: "/bin/echo", args: ["fine", "a\u0001b"], environment: { E: "x\u001by" } } }, dir)),
  );
  assert.is(error.code, "EGENERATE");
  assert.match(error.message, "cannot generate launchd configuration");
  assert.match(error.message, "bad: ProgramArguments[2] contains a control character 0x01, which a plist (XML 1.0) cannot carry");
  assert.match(error.message, "bad: EnvironmentVariables.E contains a control character 0x1b");
  assert.not.match(error.message, "ok:");
  const equals = generatorError(() => generateLaunchd(resolve({ d: { daemon: "/opt/a=b/run" } }, dir)));
  assert.match(equals.message, 'd: an executable path with "="');
  assert.equal(generateLaunchd(resolve({ f: { process: "/opt/a=b/run" } }, dir)).processFiles, { f: ["org.procman.f.plist"] }, "run directly, = is harmless");
  if (!need("python3", "launchd XML escaping")) return;
  const texts = ["a & b", "<script>", "x > y", "cr\rlf\r\n", "&#13;", "]]>", "tab\t"];
  const plist = loadAll(generateLaunchd(resolve({ x: { process: "/bin/echo", args: texts, environment: { "AMP": "&<>\r" } } }, dir))).x!;
  assert.equal(plist.ProgramArguments, ["/bin/echo", ...texts]);
  assert.is(plist.EnvironmentVariables.AMP, "&<>\r");
});

test("procman generate -P launchd writes one plist per process", async () => {
  const out = makeTempDir("procman-launchd-cli-");
  const state = makeTempDir("procman-state-");
  const file = exampleFiles().find((candidate) => candidate.endsWith(path.join("webapp", "processes.ts")))!;
  const result = await procman(["generate", file, "-P", "launchd", "--out", out, "--state-dir", state]);
  assert.is(result.code, 0, showCli(result));
  for (const name of ["org.procman.webapp.plist", "org.procman.nginx.plist", "procman-setup.sh"]) assert.ok(existsSync(path.join(out, name)), name);
  assert.match(result.stderr, `sh '${path.join(out, "procman-setup.sh")}'`);
  assert.match(result.stderr, "launchctl bootstrap system");
});

test("the setup script creates the directories the jobs log to, with hostile paths", async () => {
  const dir = makeTempDir("procman-launchd-");
  const hostile = hostileModel({ dir, multiline: true, port: await freePort() });
  const output = generateLaunchd(hostile.model);
  const out = writeOutput(output);
  const logDirs = [...new Set(hostile.model.processes.map((spec) => path.dirname(spec.logFile)))];
  for (const logDir of logDirs) assert.not.ok(existsSync(logDir));
  const result = run("/bin/sh", [path.join(out, "procman-setup.sh")], { env: { PATH: MINIMAL_PATH } });
  assert.is(result.status, 0, show(result));
  for (const logDir of logDirs) assert.ok(existsSync(logDir), logDir);
  assert.ok(output.steps[0]!.includes(`sh '${path.join(hostile.stateDir, "lib", "procman", "launchd", "procman-setup.sh")}'`), output.steps[0]);
});

test("the setup script, as root, gives a job with a user its log file (the file only), and refuses a planted link", () => {
  if (process.getuid?.() !== 0) {
    console.log("  SKIP launchd log file owner: needs root to chown");
    return;
  }
  const dir = makeTempDir("procman-launchd-");
  const model = resolve({ web: { process: "/bin/sleep", args: ["1"], user: "daemon", restart: "no" }, plain: { process: "/bin/sleep", args: ["1"], restart: "no" } }, dir);
  const [web, plain] = model.processes;
  const out = writeOutput(generateLaunchd(model));
  const setup = () => run("/bin/sh", [path.join(out, "procman-setup.sh")], { env: { PATH: MINIMAL_PATH } });
  const first = setup();
  assert.is(first.status, 0, show(first));
  const info = lstatSync(web!.logFile);
  assert.ok(info.isFile());
  assert.equal([info.uid, info.gid], [1, 1], "daemon and its primary group");
  assert.is(lstatSync(path.dirname(web!.logFile)).uid, 0, "the directory stays root's");
  assert.not.ok(existsSync(plain!.logFile), "a job without a user: launchd opens its log as root");
  rmSync(web!.logFile);
  const victim = path.join(dir, "victim");
  writeFileSync(victim, "");
  symlinkSync(victim, web!.logFile);
  const refused = setup();
  assert.is(refused.status, 1, show(refused));
  assert.match(refused.stderr, "exists and is not a regular file");
  assert.is(lstatSync(victim).uid, 0, "the link's target was not chowned");
});

test("prefix: labels, file names and the setup script are namespaced; notify readiness and a bad prefix are refused", () => {
  const dir = makeTempDir("procman-launchd-");
  const model = resolve({ a: { process: "/bin/sleep", args: ["1"], restart: "no" }, b: { process: "/bin/sleep", args: ["1"], restart: "no", activatesAfter: ["a"] } }, dir);
  const output = generateLaunchd(model, { prefix: "shop" });
  assert.equal(output.files.map((file) => file.path).sort(), ["org.shop.a.plist", "org.shop.b.plist", "shop-setup.sh"]);
  assert.equal(output.names, { a: "org.shop.a", b: "org.shop.b" });
  assert.equal(output.warnings, ["b: activatesAfter a, which has no readiness check: launchd may start b before a runs when it loads them itself (at boot); give a a readiness check"]);
  if (need("python3", "launchd prefix")) assert.is(loadAll(output).b!.Label, "org.shop.b");
  const notify = generatorError(() =>
    generateLaunchd({ ...model, processes: [{ ...model.processes[0]!, readiness: { kind: "notify", fd: 4, timeout: 5, interval: 0.1 } }] }));
  assert.match(notify.message, "a: readiness notify (descriptor 4) cannot be carried");
  assert.match(generatorError(() => generateLaunchd(model, { prefix: "org/x" })).message, 'prefix "org/x" must match');
  const live = generateLaunchd({
    ...model,
    processes: [{ ...model.processes[0]!, liveness: { kind: "logWithin", seconds: 60, interval: 10, timeout: 5, failures: 3 } }],
  });
  assert.equal(live.warnings, ["a: launchd cannot run the logWithin liveness check; not carried"]);
});

test.run();
