// procman startup's files, read back by the real tools: the systemd unit by `systemd-analyze verify`
// and a decoder of systemd's quoting, the plist by plistlib and plistutil, the LSB header by
// systemd-sysv-generator; the init script runs for real (start, status, stop) against a small direct
// deployment in a state dir whose name needs quoting.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generateStartup, STARTUP_MARKER, type StartupOptions } from "../../generators/startup.js";
import { GeneratorError } from "../../generators/types.js";
import { BIN, procman, show as showCli } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import { MINIMAL_PATH, isAlive, killAll, processesMentioning, run, show, waitFor } from "./hostile.js";
import { decodeEnvironment, decodeExecLine, parseUnitFile, value, values } from "./systemd-syntax.js";
import { need, plistlibLoad, plistutilLoad } from "./target-tools.js";

const NODE = process.execPath;
/** A state dir name every target must quote: space, quotes, $, %, a backslash, &, <. */
const AWKWARD = "state dir 'q' \"dq\" $HOME %n \\x & <t>";

function options(manager: StartupOptions["manager"], stateDir: string, extra: Partial<StartupOptions> = {}): StartupOptions {
  return { manager, node: NODE, bin: BIN, stateDir, ...extra };
}

function writeFile(dir: string, file: { path: string; contents: string; mode: number }): string {
  const target = path.join(dir, file.path);
  writeFileSync(target, file.contents);
  chmodSync(target, file.mode);
  return target;
}

function verifyUnit(file: string, user: boolean): void {
  const result = run("systemd-analyze", [...(user ? ["--user"] : []), "verify", "--man=no", file], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SYSTEMD_LOG_COLOR: "0", ...(user ? { XDG_RUNTIME_DIR: makeTempDir("procman-xdg-") } : {}) },
  });
  assert.is(result.status, 0, show(result));
  assert.is(result.stderr, "", `verify printed on stderr:\n${result.stderr}`);
  assert.is(result.stdout, "", `verify printed on stdout:\n${result.stdout}`);
}

test("systemd: a oneshot that stays active, after the network, runs procman start and stop for the state dir; verify is silent", () => {
  const stateDir = path.join(makeTempDir("procman-startup-"), AWKWARD);
  const output = generateStartup(options("systemd", stateDir));
  assert.is(output.name, "procman-startup.service");
  assert.is(output.file.path, "procman-startup.service");
  assert.is(output.installDir, "etc/systemd/system");
  assert.ok(output.file.contents.includes(STARTUP_MARKER));
  const unit = parseUnitFile(output.file.contents);
  assert.is(value(unit, "Service", "Type"), "oneshot");
  assert.is(value(unit, "Service", "RemainAfterExit"), "yes");
  assert.is(value(unit, "Unit", "After"), "network.target");
  assert.equal(decodeExecLine(value(unit, "Service", "ExecStart")), [NODE, BIN, "start", "--state-dir", stateDir]);
  assert.equal(decodeExecLine(value(unit, "Service", "ExecStop")), [NODE, BIN, "stop", "--state-dir", stateDir]);
  assert.equal(decodeEnvironment(values(unit, "Service", "Environment")), { PATH: MINIMAL_PATH });
  assert.is(value(unit, "Install", "WantedBy"), "multi-user.target");
  if (!need("systemd-analyze", "startup systemd verify")) return;
  verifyUnit(writeFile(makeTempDir("procman-startup-unit-"), output.file), false);
});

test("systemd user unit: wanted by default.target, installed under ~/.config/systemd/user; verify --user is silent", () => {
  const output = generateStartup(options("systemd", "/home/someone/.local/state/procman", { user: true, prefix: "app" }));
  assert.is(output.name, "app-startup.service");
  assert.is(output.installDir, ".config/systemd/user");
  const unit = parseUnitFile(output.file.contents);
  assert.is(value(unit, "Install", "WantedBy"), "default.target");
  if (!need("systemd-analyze", "startup systemd user verify")) return;
  verifyUnit(writeFile(makeTempDir("procman-startup-unit-"), output.file), true);
});

test("launchd: plistlib and plistutil read the label, RunAtLoad and the start command exactly", () => {
  const stateDir = path.join("/Users/someone", AWKWARD);
  const output = generateStartup(options("launchd", stateDir));
  assert.is(output.name, "org.procman.startup");
  assert.is(output.file.path, "org.procman.startup.plist");
  assert.is(output.installDir, "Library/LaunchDaemons");
  assert.is(generateStartup(options("launchd", stateDir, { user: true })).installDir, "Library/LaunchAgents");
  if (!need("python3", "startup launchd plistlib")) return;
  const file = writeFile(makeTempDir("procman-startup-plist-"), output.file);
  const plist = plistlibLoad(file) as Record<string, unknown>;
  assert.equal(plist, {
    Label: "org.procman.startup",
    ProgramArguments: [NODE, BIN, "start", "--state-dir", stateDir],
    EnvironmentVariables: { PATH: MINIMAL_PATH },
    RunAtLoad: true,
    KeepAlive: false,
    AbandonProcessGroup: true,
    StandardOutPath: path.join(stateDir, "log", "procman-startup.log"),
    StandardErrorPath: path.join(stateDir, "log", "procman-startup.log"),
  });
  if (need("plistutil", "startup launchd plistutil")) assert.equal(plistutilLoad(file), plist);
});

test("refused, naming what: relative paths, a bad prefix, a control character in a plist, a user init script", () => {
  const refused = (startup: StartupOptions): string => {
    try {
      generateStartup(startup);
    } catch (error) {
      assert.instance(error, GeneratorError);
      assert.is((error as GeneratorError).exitCode, 2);
      return (error as Error).message;
    }
    throw new Error("not refused");
  };
  assert.match(refused(options("systemd", "relative/state")), /state dir "relative\/state" must be an absolute path/);
  assert.match(refused({ ...options("sysvinit", "/srv/state"), bin: "dist/src/cli/bin.js" }), /the bin .* must be an absolute path/);
  assert.match(refused(options("systemd", "/srv/state", { prefix: "-bad" })), /prefix "-bad"/);
  assert.match(refused(options("launchd", "/srv/st\u0001ate")), /control character 0x01/);
  assert.match(refused(options("sysvinit", "/srv/state", { user: true })), /no user variant/);
});

/** The LSB header as keyword → value. */
function lsbHeader(script: string): Record<string, string> {
  const block = script.slice(script.indexOf("### BEGIN INIT INFO\n"), script.indexOf("### END INIT INFO\n"));
  const header: Record<string, string> = {};
  for (const line of block.split("\n").slice(1).filter((line) => line !== "")) {
    const match = /^# ([A-Za-z-]+):[ \t]*(.*)$/.exec(line);
    assert.ok(match !== null, `header line ${JSON.stringify(line)}`);
    header[match![1]!] = match![2]!;
  }
  return header;
}

test("sysvinit: an LSB header after the local file systems and the network, read by systemd-sysv-generator", () => {
  const output = generateStartup(options("sysvinit", "/srv/state"));
  assert.is(output.name, "procman-startup");
  assert.is(output.installDir, "etc/init.d");
  assert.is(output.file.mode, 0o755);
  const header = lsbHeader(output.file.contents);
  assert.is(header.Provides, "procman-startup");
  assert.is(header["Required-Start"], "$local_fs $network");
  assert.is(header["Required-Stop"], "$local_fs $network");
  assert.is(header["Default-Start"], "2 3 4 5");
  assert.is(header["Default-Stop"], "0 1 6");
  const generator = "/lib/systemd/system-generators/systemd-sysv-generator";
  if (!existsSync(generator)) {
    if (process.env.CI === "true") throw new Error(`${generator} is required in CI`);
    console.log(`  SKIP systemd-sysv-generator: ${generator} is missing`);
    return;
  }
  const work = makeTempDir("procman-startup-sysv-");
  for (const sub of ["init.d", "out", "units", "rcnd"]) mkdirSync(path.join(work, sub));
  writeFile(path.join(work, "init.d"), output.file);
  const out = path.join(work, "out");
  const result = run(generator, [out, out, out], {
    env: { SYSTEMD_SYSVINIT_PATH: path.join(work, "init.d"), SYSTEMD_SYSVRCND_PATH: path.join(work, "rcnd"), SYSTEMD_UNIT_PATH: path.join(work, "units"), SYSTEMD_LOG_LEVEL: "warning" },
  });
  assert.is(result.status, 0, show(result));
  const unit = parseUnitFile(readFileSync(path.join(out, "procman-startup.service"), "utf8"));
  const after = values(unit, "Unit", "After").join(" ").split(/\s+/);
  assert.ok(after.includes("network-online.target"), `After= ${after.join(" ")}`);
  assert.equal(readdirSync(out).filter((name) => name.endsWith(".service")), ["procman-startup.service"]);
});

/** Runs the init script as `service` would: a clean, minimal environment. */
function action(script: string, verb: string) {
  return run(script, [verb], { cwd: "/", env: { PATH: MINIMAL_PATH }, timeout: 90_000 });
}

interface StatusJson {
  supervisor: { running: boolean; pid: number | null };
  processes: { name: string; state: string; pid: number | null }[];
}

async function statusOf(stateDir: string): Promise<StatusJson> {
  const result = await procman(["status", "--json", "--state-dir", stateDir]);
  return JSON.parse(result.stdout) as StatusJson;
}

test("sysvinit, for real: start brings a stopped deployment back with its supervisor, status is procman status's exit code, stop ends it", async () => {
  const work = makeTempDir("procman-startup-run-");
  const stateDir = path.join(work, "state 'dir' $x");
  const model = path.join(work, "processes.json");
  writeFileSync(model, JSON.stringify({
    sleeper: { foregroundProcess: "/bin/sleep", args: ["600"], restart: "on-failure" },
    after: { foregroundProcess: "/bin/sleep", args: ["601"], restart: "no", activatesAfter: ["sleeper"] },
  }));
  try {
    const deployed = await procman(["switch", model, "--state-dir", stateDir]);
    assert.is(deployed.code, 0, showCli(deployed));
    const stopped = await procman(["stop", "--state-dir", stateDir]);
    assert.is(stopped.code, 0, showCli(stopped));
    assert.equal((await statusOf(stateDir)).processes.map(({ state }) => state), ["stopped", "stopped"]);

    const dir = makeTempDir("procman-startup-initd-");
    const script = writeFile(dir, generateStartup(options("sysvinit", stateDir)).file);
    const started = action(script, "start");
    assert.is(started.status, 0, show(started));
    const up = await statusOf(stateDir);
    assert.equal(up.processes.map(({ name, state }) => [name, state]).sort(), [["after", "running"], ["sleeper", "running"]]);
    assert.is(up.supervisor.running, true, "the supervisor is back");
    assert.is(action(script, "status").status, 0);

    // One process dies (ours: started by this test's deployment): status says so, as procman status does.
    const after = up.processes.find(({ name }) => name === "after")!;
    process.kill(after.pid!, "SIGKILL");
    await waitFor("the killed process to be gone", () => !isAlive(after.pid!));
    const degraded = action(script, "status");
    assert.is(degraded.status, (await procman(["status", "--state-dir", stateDir])).code);
    assert.is(degraded.status, 1, show(degraded));

    const down = action(script, "stop");
    assert.is(down.status, 0, show(down));
    const pids = [...up.processes.map(({ pid }) => pid!), up.supervisor.pid!];
    await waitFor("the processes and the supervisor to be gone", () => pids.every((pid) => !isAlive(pid)));
    assert.is((await statusOf(stateDir)).supervisor.running, false, "stop ended the supervisor");
    assert.is(action(script, "bogus").status, 2);
  } finally {
    await procman(["stop", "--state-dir", stateDir]);
    killAll(processesMentioning(stateDir));
  }
});

test.run();
