// Units from `procman generate -P systemd`, installed by hand into a real systemd (PID 1 of a
// systemd-nspawn container) and started through procman.target, as a user of `generate` would.
// Order is judged by the processes' own records (timestamps and files they write), never by
// elapsed time.
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import * as assert from "uvu/assert";
import { HOSTILE_ARGS, HOSTILE_ENV, MINIMAL_PATH, MULTILINE_ARGS, MULTILINE_ENV, NODE, REPORT, assertStartedAsDeclared, readReport } from "../generators/hostile.js";
import { procman, show } from "../helpers/cli.js";
import { stampIn } from "../helpers/processes.js";
import type { Container } from "../helpers/nspawn.js";
import { TARGET, containerSuite, dirsFor, idleScript, mainPid, property, systemctl, unitOf, waitFor, writeModel, type Dirs } from "./support.js";

const { test, host } = containerSuite("systemd: generated units");

/** `procman generate -P systemd --out dirs.out` on the host (generation is pure). */
async function generate(dirs: Dirs, model: string, stateDir = dirs.state): Promise<void> {
  const run = await procman(["generate", model, "-P", "systemd", "--out", dirs.out, "--state-dir", stateDir]);
  assert.is(run.code, 0, show(run));
}

/** The generated files (relative paths), the record `generate` keeps of them left out. */
function generatedFiles(dirs: Dirs): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? walk(full) : [path.relative(dirs.out, full)];
    });
  return walk(dirs.out).filter((file) => file !== ".procman-generated.json");
}

/**
 * Installs by hand what `generate` wrote, following its install steps: the files stay in the output
 * dir (bound into the container at the same path; the units name the tmpfiles snippet and the
 * environment files there by path), the units are linked into /etc/systemd/system, daemon-reload.
 */
async function install(container: Container, dirs: Dirs): Promise<void> {
  const units = unitFiles(dirs).map((file) => path.join(dirs.out, file));
  await container.mustExec(["systemctl", "link", ...units]);
  await container.mustExec(["systemctl", "daemon-reload"]);
}

/** Stops and unlinks what `install` linked, so the next test in this container starts clean. */
async function uninstall(container: Container, dirs: Dirs): Promise<void> {
  const units = existsSync(dirs.out) ? unitFiles(dirs) : [];
  if (units.length > 0) await systemctl(container, "stop", ...units);
  // Only the links into this test's output dir.
  await container.exec(["find", "/etc/systemd/system", "-maxdepth", "1", "-type", "l", "-lname", `${dirs.out}/*`, "-delete"]);
  await container.exec(["systemctl", "daemon-reload"]);
  await container.exec(["systemctl", "reset-failed"]);
}

/** The generated units (services and targets). */
function unitFiles(dirs: Dirs): string[] {
  return generatedFiles(dirs).filter((file) => !file.includes("/") && /\.(service|target)$/.test(file));
}

function mark(dirs: Dirs, name: string): string {
  return path.join(dirs.marks, name);
}

/** A nanosecond timestamp a process wrote with `date +%s%N` (waited for: the unit may be active before it is written). */
function stamp(dirs: Dirs, name: string): Promise<bigint> {
  return stampIn(mark(dirs, name));
}

test("start order is gated by readiness: each process starts after the one before it is ready", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "order");
  // a becomes ready a while after it starts (it writes a.ready late); b after a, c after b.
  const late = (name: string) => `date +%s%N > ${mark(dirs, `${name}.started`)}; sleep 0.5; date +%s%N > ${mark(dirs, `${name}.ready`)}`;
  const ready = (name: string) => ({ command: `test -e ${mark(dirs, `${name}.ready`)}`, timeout: 20 });
  const model = writeModel(dirs, {
    a: { process: "/bin/sh", args: idleScript("a", dirs.marks, late("a")), readiness: ready("a") },
    b: { process: "/bin/sh", args: idleScript("b", dirs.marks, late("b")), readiness: ready("b"), activatesAfter: ["a"] },
    c: { process: "/bin/sh", args: idleScript("c", dirs.marks, `date +%s%N > ${mark(dirs, "c.started")}`), activatesAfter: ["b"] },
  });
  try {
    await generate(dirs, model);
    await install(container, dirs);
    const start = await systemctl(container, "start", TARGET);
    assert.is(start.code, 0, start.stderr);
    for (const name of ["a", "b", "c"]) assert.is(await property(container, unitOf(name), "ActiveState"), "active", name);
    assert.ok((await stamp(dirs, "b.started")) > (await stamp(dirs, "a.ready")), "b started after a was ready");
    assert.ok((await stamp(dirs, "c.started")) > (await stamp(dirs, "b.ready")), "c started after b was ready");
  } finally {
    await uninstall(container, dirs);
  }
});

test("stop order: dependents first (the processes record their own SIGTERM)", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "stop");
  const model = writeModel(dirs, {
    a: { process: "/bin/sh", args: idleScript("a", dirs.marks) },
    b: { process: "/bin/sh", args: idleScript("b", dirs.marks), activatesAfter: ["a"] },
    c: { process: "/bin/sh", args: idleScript("c", dirs.marks), activatesAfter: ["b"] },
  });
  try {
    await generate(dirs, model);
    await install(container, dirs);
    assert.is((await systemctl(container, "start", TARGET)).code, 0);
    // A SIGTERM before a shell's trap is set would end it unrecorded: wait until all three hold theirs.
    for (const name of ["a", "b", "c"]) await waitFor(`${name} to set its TERM trap`, async () => existsSync(mark(dirs, `${name}.trapped`)));
    // One stop job for all three, named dependencies first: systemd orders them by the units' After=.
    const stop = await systemctl(container, "stop", unitOf("a"), unitOf("b"), unitOf("c"));
    assert.is(stop.code, 0, stop.stderr);
    for (const name of ["a", "b", "c"]) assert.is(await property(container, unitOf(name), "ActiveState"), "inactive", `${name} stopped`);
    assert.equal(readFileSync(mark(dirs, "stops"), "utf8").trim().split("\n"), ["c", "b", "a"]);
  } finally {
    await uninstall(container, dirs);
  }
});

test("Restart=: a kill -9 of the main PID restarts it, and its dependent runs afterwards", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "restart");
  const model = writeModel(dirs, {
    a: { process: "/bin/sh", args: idleScript("a", dirs.marks, `echo start >> ${mark(dirs, "a.starts")}`), restart: { policy: "always", delay: 0.2 } },
    b: { process: "/bin/sh", args: idleScript("b", dirs.marks), activatesAfter: ["a"], restart: { policy: "always", delay: 0.2 } },
  });
  try {
    await generate(dirs, model);
    await install(container, dirs);
    assert.is((await systemctl(container, "start", TARGET)).code, 0);
    const killed = await mainPid(container, unitOf("a"));
    assert.ok(killed !== undefined, "a runs");
    await container.mustExec(["kill", "-KILL", String(killed)]);
    const again = await waitFor("a to run again under a new PID", async () => {
      const pid = await mainPid(container, unitOf("a"));
      return pid !== undefined && pid !== killed && (await property(container, unitOf("a"), "ActiveState")) === "active" ? pid : undefined;
    });
    assert.ok(again !== killed);
    assert.is(await property(container, unitOf("a"), "NRestarts"), "1");
    // Active means its sh was exec'd, not that it ran its first command yet.
    const starts = await waitFor("a's second start line", async () => {
      const lines = readFileSync(mark(dirs, "a.starts"), "utf8").trim().split("\n");
      return lines.length >= 2 ? lines : undefined;
    });
    assert.equal(starts, ["start", "start"], "a's script ran twice");
    await waitFor("b to be active again", async () => (await property(container, unitOf("b"), "ActiveState")) === "active" && (await mainPid(container, unitOf("b"))) !== undefined);
  } finally {
    await uninstall(container, dirs);
  }
});

test("a readiness timeout fails the start, and procman.target reports the failure", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "timeout");
  const model = writeModel(dirs, {
    // No restart: the failed start stays failed (on-failure would retry it: "activating").
    never: { process: "/bin/sh", args: idleScript("never", dirs.marks), readiness: { command: "false", timeout: 1 }, restart: "no" },
    after: { process: "/bin/sh", args: idleScript("after", dirs.marks, `touch ${mark(dirs, "after.started")}`), activatesAfter: ["never"] },
  });
  try {
    await generate(dirs, model);
    await install(container, dirs);
    const start = await systemctl(container, "start", TARGET);
    assert.is.not(start.code, 0, `systemctl start ${TARGET} must fail when a unit fails\n${start.stdout}${start.stderr}`);
    assert.is(await property(container, unitOf("never"), "ActiveState"), "failed");
    assert.is.not(await property(container, TARGET, "ActiveState"), "active", "the target is not active");
    assert.not.ok(existsSync(mark(dirs, "after.started")), "its dependent never started");
  } finally {
    await uninstall(container, dirs);
  }
});

test("StandardOutput=append: works on a fresh state dir (its log directory does not exist beforehand)", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "logs");
  const model = writeModel(dirs, {
    talker: { process: "/bin/sh", args: idleScript("talker", dirs.marks, "echo hello from talker; echo to stderr >&2"), readiness: { logLine: "hello from talker", timeout: 10 } },
  });
  try {
    await generate(dirs, model);
    assert.not.ok(existsSync(dirs.state), "the state dir does not exist before the start");
    await install(container, dirs);
    const start = await systemctl(container, "start", TARGET);
    assert.is(start.code, 0, `${start.stderr}\n${(await systemctl(container, "status", unitOf("talker"))).stdout}`);
    // Ready on the first line; the second is the next echo's, which may come a little later.
    const log = await waitFor("talker's second line", async () => {
      const text = readFileSync(path.join(dirs.state, "log", "talker.log"), "utf8");
      return text.includes("to stderr") ? text : undefined;
    });
    assert.match(log, "hello from talker");
  } finally {
    await uninstall(container, dirs);
  }
});

test("hostile argv, environment and paths arrive byte for byte, as systemd itself reads the units", async () => {
  const container = host.use();
  if (container === undefined) return;
  const dirs = dirsFor(host, "hostile");
  const stateDir = path.join(dirs.root, "state 100% ünï");
  const workDir = path.join(dirs.root, "work dir %n ü");
  mkdirSync(workDir);
  const args = [...HOSTILE_ARGS, ...MULTILINE_ARGS];
  const environment = { ...HOSTILE_ENV, ...MULTILINE_ENV };
  const report = (name: string) => path.join(dirs.marks, `${name}.json`);
  // The container has a network of its own: any port is free there.
  const port = 18_571;
  const model = writeModel(dirs, {
    first: {
      description: `Hostile "first" 100% $HOME; #not a comment ünï`,
      foregroundProcess: NODE,
      args: [REPORT, ...args],
      environment: { ...environment, REPORT_FILE: report("first"), LISTEN_PORT: String(port) },
      directory: workDir,
      readiness: { tcp: { port }, timeout: 20 },
      restart: "no",
    },
    second: {
      foregroundProcess: NODE,
      args: [REPORT, "second", ...[...args].reverse()],
      environment: { ...environment, REPORT_FILE: report("second") },
      activatesAfter: ["first"],
      restart: "no",
    },
  });
  try {
    await generate(dirs, model, stateDir);
    await install(container, dirs);
    // A variable in the manager's own environment (as LANG from locale.conf on a real host, which
    // this systemd has too): the processes must not inherit it.
    await container.mustExec(["systemctl", "set-environment", "LEAK_CANARY=inherited"]);
    const start = await systemctl(container, "start", TARGET);
    assert.is(start.code, 0, `${start.stderr}\n${(await systemctl(container, "status", unitOf("first"), unitOf("second"))).stdout}`);
    const expected = {
      first: { argv: [NODE, REPORT, ...args], env: { ...environment, REPORT_FILE: report("first"), LISTEN_PORT: String(port), PATH: MINIMAL_PATH } },
      second: { argv: [NODE, REPORT, "second", ...[...args].reverse()], env: { ...environment, REPORT_FILE: report("second"), PATH: MINIMAL_PATH } },
    };
    for (const [name, declared] of Object.entries(expected)) {
      const started = await waitFor(`${name}'s report`, async () => existsSync(report(name)) && readReport(report(name)));
      // systemd's per-service identifiers (its documented interface, not inherited); nothing else may be added or lost.
      const env = Object.fromEntries(Object.entries(started.env).filter(([key]) => key !== "INVOCATION_ID" && key !== "SYSTEMD_EXEC_PID"));
      assertStartedAsDeclared({ ...started, env, rawEnviron: environBytes(env) }, declared.argv, declared.env, name);
    }
    assert.is(readReport(report("first")).cwd, workDir);
    assert.ok(existsSync(path.join(stateDir, "log", "first.log")), "the log is where the state dir with odd characters says");
  } finally {
    await container.exec(["systemctl", "unset-environment", "LEAK_CANARY"]);
    await uninstall(container, dirs);
  }
});

/** The environment as /proc/PID/environ holds it. */
function environBytes(env: Readonly<Record<string, string>>): Buffer {
  return Buffer.from(Object.entries(env).map(([key, value]) => `${key}=${value}\0`).join(""), "utf8");
}

test.run();
