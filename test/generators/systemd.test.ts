// systemd units: `systemd-analyze verify` accepts every generated unit without a word, and, since
// verify does not notice quoting mistakes, every unit is also parsed back with a decoder of
// systemd's own rules (systemd-syntax.ts): the argv, environment and settings are the declared ones.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitForReady } from "../../generators/readiness-script.js";
import { SYSTEMD_TARGET, generateSystemd } from "../../generators/systemd.js";
import type { GeneratorOutput } from "../../generators/types.js";
import type { ResolvedModel } from "../../src/model/types.js";
import { procman, show as showCli } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";
import {
  DAEMON,
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
import { decodeEnvironment, decodeExecLine, expandSpecifiers, parseUnitFile, value, values, type UnitFile } from "./systemd-syntax.js";
import { need } from "./target-tools.js";

/** `systemd-analyze verify --man=no` on every unit of the output at once: exit 0, nothing printed. */
function assertVerifies(output: GeneratorOutput, label: string): void {
  const dir = writeOutput(output);
  const units = output.files.map((file) => path.join(dir, file.path));
  const result = run("systemd-analyze", ["verify", "--man=no", ...units], { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SYSTEMD_LOG_COLOR: "0" } });
  assert.is(result.status, 0, `${label}: ${show(result)}`);
  assert.is(result.stderr, "", `${label}: verify printed on stderr:\n${result.stderr}`);
  assert.is(result.stdout, "", `${label}: verify printed on stdout:\n${result.stdout}`);
}

function unitOf(output: GeneratorOutput, name: string): UnitFile {
  return parseUnitFile(fileOf(output, name));
}

const resolve = (exported: unknown, dir: string): ResolvedModel => resolveFor("systemd", exported, dir);


test("every example: units for the system and the user manager verify cleanly", async () => {
  if (!need("systemd-analyze", "systemd examples")) return;
  for (const file of exampleFiles()) {
    const model = await resolveExample(file, makeTempDir("procman-state-"), "systemd");
    const output = generateSystemd(model);
    assert.equal(
      output.files.map((generated) => generated.path).sort(),
      [...model.processes.map(({ name }) => `${name}.service`), SYSTEMD_TARGET].sort(),
    );
    assertVerifies(output, file);
    assertVerifies(generateSystemd(model, { userUnits: true }), `${file} (--user-units)`);
    for (const process of model.processes) {
      const unit = unitOf(output, `${process.name}.service`);
      const command = process.foreground ?? process.daemon!;
      assert.equal(decodeExecLine(value(unit, "Service", "ExecStart")), [command.executable, ...command.args], `${file}: ${process.name}`);
      assert.equal(decodeEnvironment(values(unit, "Service", "Environment")), process.environment, `${file}: ${process.name}`);
    }
  }
});

test("hostile model: verify is silent, and ExecStart=/Environment= decode to the declared argv and environment", async () => {
  if (!need("systemd-analyze", "systemd hostile model")) return;
  const dir = makeTempDir("procman-systemd-");
  const hostile = hostileModel({ dir, multiline: true, port: await freePort() });
  const output = generateSystemd(hostile.model);
  assert.equal(output.warnings, []);
  assertVerifies(output, "hostile");
  for (const process of hostile.model.processes) {
    const unit = unitOf(output, `${process.name}.service`);
    assert.equal(decodeExecLine(value(unit, "Service", "ExecStart")), hostile.argv[process.name], `${process.name}: ExecStart`);
    assert.equal(decodeEnvironment(values(unit, "Service", "Environment")), hostile.env[process.name], `${process.name}: Environment`);
    assert.is(expandSpecifiers(value(unit, "Unit", "Description")), process.description);
    assert.is(value(unit, "Service", "Type"), "exec");
    assert.is(expandSpecifiers(value(unit, "Service", "StandardOutput")), `append:${process.logFile}`);
    assert.is(expandSpecifiers(value(unit, "Service", "StandardError")), `append:${process.logFile}`);
  }
  const first = unitOf(output, "first.service");
  const second = unitOf(output, "second.service");
  assert.is(expandSpecifiers(value(first, "Service", "WorkingDirectory")), hostile.workDir);
  assert.is(value(second, "Service", "WorkingDirectory"), "/");
  assert.equal(values(first, "Unit", "Requires"), []);
  assert.equal(values(second, "Unit", "Requires"), ["first.service"]);
  assert.equal(values(second, "Unit", "After"), ["first.service"]);
  assert.equal(values(second, "Service", "ExecStartPost"), [], "second has no readiness check of its own");
  assert.is(value(first, "Install", "WantedBy"), SYSTEMD_TARGET);
  assert.is(value(first, "Unit", "PartOf"), SYSTEMD_TARGET);
  const target = parseUnitFile(fileOf(output, SYSTEMD_TARGET));
  assert.equal(values(target, "Unit", "Wants"), ["first.service", "second.service"]);
  assert.is(value(target, "Install", "WantedBy"), "multi-user.target");
});

test("tcp readiness: ExecStartPost= decodes to the wait loop, which passes once the port listens", async () => {
  if (!need("bash", "systemd ExecStartPost")) return;
  const dir = makeTempDir("procman-systemd-");
  const port = await freePort();
  const hostile = hostileModel({ dir, multiline: false, port });
  const first = hostile.model.processes.find(({ name }) => name === "first")!;
  const unit = unitOf(generateSystemd(hostile.model), "first.service");
  const post = decodeExecLine(value(unit, "Service", "ExecStartPost"));
  assert.equal(post, ["/bin/sh", "-c", waitForReady(first)]);
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

test("settings: Type=exec / forking + PIDFile=, Requires=/After=, User/Group/UMask/Nice/WorkingDirectory/KillSignal/TimeoutStopSec/Restart, overrides merged", () => {
  const dir = makeTempDir("procman-systemd-");
  const model = featureModel(dir);
  const output = generateSystemd(model);
  assert.equal(output.warnings, []);
  if (need("systemd-analyze", "systemd settings verify")) assertVerifies(output, "features");
  const db = unitOf(output, "db.service");
  assert.is(value(db, "Service", "Type"), "forking");
  assert.is(expandSpecifiers(value(db, "Service", "PIDFile")), path.join(dir, "state", "run", "db 100%.pid"));
  assert.equal(decodeExecLine(value(db, "Service", "ExecStart")), [NODE, DAEMON, "--db", "100%"]);
  assert.equal(decodeExecLine(value(db, "Service", "ExecStartPre")), ["/bin/sh", "-c", `mkdir -p "$HOME/db" '${dir}/100%'`]);
  assert.is(value(db, "Service", "KillSignal"), "SIGINT");
  assert.is(value(db, "Service", "TimeoutStopSec"), "7.5");
  assert.is(value(db, "Service", "Restart"), "on-failure");
  assert.is(value(db, "Service", "RestartSec"), "1");
  assert.is(value(db, "Service", "WorkingDirectory"), "/");
  assert.equal(values(db, "Service", "User"), []);
  // A daemon is ready once its PID file names a live process.
  assert.equal(decodeExecLine(value(db, "Service", "ExecStartPost")), ["/bin/sh", "-c", waitForReady(model.processes[0]!)]);

  const web = unitOf(output, "web.service");
  assert.is(value(web, "Service", "Type"), "exec");
  assert.equal(values(web, "Service", "PIDFile"), []);
  assert.equal(values(web, "Unit", "Requires"), ["db.service"]);
  assert.equal(values(web, "Unit", "After"), ["db.service"]);
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

test("--user-units: no User=/Group= (with a warning), the target is wanted by default.target", () => {
  const dir = makeTempDir("procman-systemd-");
  const output = generateSystemd(featureModel(dir), { userUnits: true });
  if (need("systemd-analyze", "systemd user units verify")) assertVerifies(output, "user units");
  const web = unitOf(output, "web.service");
  assert.equal(values(web, "Service", "User"), []);
  assert.equal(values(web, "Service", "Group"), []);
  assert.is(value(web, "Service", "UMask"), "0027");
  assert.equal(output.warnings, ["web: user units cannot switch User=/Group=; ignored"]);
  assert.is(value(parseUnitFile(fileOf(output, SYSTEMD_TARGET)), "Install", "WantedBy"), "default.target");
  const system = generateSystemd(featureModel(dir));
  assert.is(value(parseUnitFile(fileOf(system, SYSTEMD_TARGET)), "Install", "WantedBy"), "multi-user.target");
});

test("restart policies map one to one", () => {
  const dir = makeTempDir("procman-systemd-");
  for (const policy of ["no", "on-failure", "always"]) {
    const output = generateSystemd(resolve({ p: { process: "/bin/sleep", args: ["1"], restart: policy } }, dir));
    assert.is(value(unitOf(output, "p.service"), "Service", "Restart"), policy);
  }
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
  const b = unitOf(output, "b.service");
  assert.is(value(b, "Unit", "Description"), "ends in a backslash \\");
  assert.equal(values(b, "Unit", "Requires"), ["a.service"]);
  assert.is(value(b, "Service", "WorkingDirectory"), path.join(dir, "dir\\"));
  assert.equal(decodeExecLine(value(b, "Service", "ExecStart")), ["/bin/sleep", "1000", "\\"]);
  assert.equal(decodeEnvironment(values(b, "Service", "Environment")).E, "\\");
  const c = unitOf(output, "c.service");
  assert.is(value(c, "Unit", "Description"), "two \\\\");
  assert.is(value(c, "Service", "PIDFile"), path.join(dir, "c.pid\\"));
  assert.equal(decodeExecLine(value(c, "Service", "ExecStart")), ["/bin/true"]);
  if (!need("systemd-analyze", "systemd line continuation")) return;
  assertVerifies(output, "backslashes");
  // systemd itself reads the Requires= after the Description= of b: without a.service, verify fails on it.
  const alone = writeOutput({ files: output.files.filter((file) => file.path === "b.service"), warnings: [] });
  const result = run("systemd-analyze", ["verify", "--man=no", path.join(alone, "b.service")], { cwd: alone });
  assert.is(result.status, 1, show(result));
  assert.match(result.stderr, "a.service");
});

test("values systemd cannot carry are refused, naming the process", () => {
  const dir = makeTempDir("procman-systemd-");
  const dash = generatorError(() => generateSystemd(resolve({ odd: { process: "-bin", args: ["x"] } }, dir)));
  assert.match(dash.message, "odd: an executable starting with -");
  const space = generatorError(() => generateSystemd(resolve({ spacey: { process: "/bin/sleep", directory: `${dir}/trailing ` } }, dir)));
  assert.match(space.message, "spacey: directory ends with whitespace");
  assert.is(space.code, "EGENERATE");
  assert.is(space.exitCode, 2);
});

test("procman generate -P systemd writes the units (and --user-units drops User=)", async () => {
  const out = makeTempDir("procman-systemd-cli-");
  const state = makeTempDir("procman-state-");
  const file = path.join(exampleFiles().find((candidate) => candidate.endsWith(path.join("webapp", "processes.yaml")))!);
  const result = await procman(["generate", file, "-P", "systemd", "--out", out, "--state-dir", state, "--user-units"]);
  assert.is(result.code, 0, showCli(result));
  assert.match(result.stdout, `wrote 3 files for systemd to ${out}`);
  for (const name of ["webapp.service", "nginx.service", SYSTEMD_TARGET]) assert.ok(existsSync(path.join(out, name)), name);
  const nginx = parseUnitFile(readFileSync(path.join(out, "nginx.service"), "utf8"));
  assert.is(value(nginx, "Service", "Type"), "forking");
  assert.equal(values(nginx, "Unit", "Requires"), ["webapp.service"]);
  assert.is(expandSpecifiers(value(nginx, "Service", "PIDFile")), path.join(state, "run", "nginx.pid"));
});

test.run();
