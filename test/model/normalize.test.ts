// Normalization: the defaults a resolved process gets, how modes and arguments are chosen, and that
// user text passes through byte for byte.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createContext } from "../../src/model/context.js";
import { createManagedProcess, defineProcesses } from "../../src/model/define.js";
import { DEFAULTS, MINIMAL_PATH, normalizeModel } from "../../src/model/normalize.js";
import type { ResolvedProcess } from "../../src/model/types.js";
import { CONTEXT, DATA, MODEL_DIR, MODULE, STATE_DIR, resolve } from "../helpers/model.js";

const one = (fields: Record<string, unknown>, name = "app"): ResolvedProcess => {
  const model = resolve({ [name]: fields });
  assert.is(model.processes.length, 1);
  return model.processes[0]!;
};

test("pidFile defaults to ${runtimeDir}/${name}.pid and logFile to ${logDir}/${name}.log", () => {
  const spec = one({ process: "/bin/app" }, "my-app.1");
  assert.is(spec.pidFile, `${STATE_DIR}/run/my-app.1.pid`);
  assert.is(spec.logFile, `${STATE_DIR}/log/my-app.1.log`);
});

test("a relative pidFile is taken relative to runtimeDir, an absolute one kept", () => {
  assert.is(one({ daemon: "/usr/sbin/d", pidFile: "d/d.pid" }).pidFile, `${STATE_DIR}/run/d/d.pid`);
  assert.is(one({ daemon: "/usr/sbin/d", pidFile: "/var/run/d.pid" }).pidFile, "/var/run/d.pid");
});

test("every other default", () => {
  const spec = one({ process: "/bin/app" });
  assert.equal(spec, {
    name: "app",
    description: undefined,
    foreground: { executable: "/bin/app", args: [] },
    daemon: undefined,
    mode: "foreground",
    pidFile: `${STATE_DIR}/run/app.pid`,
    logFile: `${STATE_DIR}/log/app.log`,
    environment: { PATH: MINIMAL_PATH },
    path: [],
    directory: undefined,
    umask: undefined,
    nice: undefined,
    user: undefined,
    group: undefined,
    initialize: undefined,
    activatesAfter: [],
    readiness: { kind: "started", timeout: DEFAULTS.readinessTimeout, interval: DEFAULTS.readinessInterval },
    stop: { signal: "SIGTERM", timeout: 10, reloadSignal: "SIGHUP" },
    restart: { policy: "on-failure", delay: 1, maxDelay: 30, limit: { burst: 5, interval: 60 } },
    liveness: undefined,
    log: { maxSize: 10 * 1024 * 1024, keep: 3 },
    onFailure: undefined,
    stateDirectory: undefined,
    runtimeDirectory: undefined,
    overrides: {},
  });
});

test("mode: a plain process runs in the foreground only", () => {
  const spec = one({ process: "/bin/app", args: ["-v"] });
  assert.is(spec.mode, "foreground");
  assert.equal(spec.foreground, { executable: "/bin/app", args: ["-v"] });
  assert.is(spec.daemon, undefined);
});

test("mode: process + daemonArgs can do both, foreground preferred", () => {
  const spec = one({ process: "/bin/app", args: ["-v"], daemonArgs: ["--daemon", "-v"] });
  assert.is(spec.mode, "foreground");
  assert.equal(spec.foreground, { executable: "/bin/app", args: ["-v"] });
  assert.equal(spec.daemon, { executable: "/bin/app", args: ["--daemon", "-v"] });
  assert.is(spec.readiness.kind, "started");
});

test("mode: daemon only runs as a daemon, ready once its PID file is there", () => {
  const spec = one({ daemon: "/usr/sbin/nginx", daemonArgs: ["-c", "/etc/nginx.conf"], pidFile: "/srv/nginx.pid" });
  assert.is(spec.mode, "daemon");
  assert.is(spec.foreground, undefined);
  assert.equal(spec.daemon, { executable: "/usr/sbin/nginx", args: ["-c", "/etc/nginx.conf"] });
  assert.equal(spec.readiness, { kind: "pidFile", path: "/srv/nginx.pid", timeout: 30, interval: 0.1 });
  // A timeout alone keeps the PID file check for a daemon.
  assert.equal(one({ daemon: "/usr/sbin/d", readiness: { timeout: 5 } }).readiness, {
    kind: "pidFile",
    path: `${STATE_DIR}/run/app.pid`,
    timeout: 5,
    interval: 0.1,
  });
});

test("args vs foregroundProcessArgs / daemonArgs", () => {
  const both = one({ foregroundProcess: "/bin/fg", daemon: "/bin/d", args: ["common"] });
  assert.equal(both.foreground, { executable: "/bin/fg", args: ["common"] });
  assert.equal(both.daemon, { executable: "/bin/d", args: ["common"] });
  assert.is(both.mode, "foreground");

  const specific = one({ foregroundProcess: "/bin/fg", foregroundProcessArgs: ["-f"], daemon: "/bin/d", daemonArgs: ["-d"] });
  assert.equal(specific.foreground, { executable: "/bin/fg", args: ["-f"] });
  assert.equal(specific.daemon, { executable: "/bin/d", args: ["-d"] });

  const mixed = one({ foregroundProcess: "/bin/fg", daemon: "/bin/d", args: ["common"], daemonArgs: ["-d"] });
  assert.equal(mixed.foreground, { executable: "/bin/fg", args: ["common"] });
  assert.equal(mixed.daemon, { executable: "/bin/d", args: ["-d"] });

  const viaProcess = one({ process: "/bin/p", foregroundProcessArgs: ["-f"], daemonArgs: ["-d"] });
  assert.equal(viaProcess.foreground, { executable: "/bin/p", args: ["-f"] });
  assert.equal(viaProcess.daemon, { executable: "/bin/p", args: ["-d"] });
});

test("readiness kinds resolve with their defaults", () => {
  assert.equal(one({ process: "x", readiness: { tcp: { port: 8080 } } }).readiness, { kind: "tcp", host: "127.0.0.1", port: 8080, owned: true, timeout: 30, interval: 0.1 });
  assert.equal(one({ process: "x", readiness: { tcp: { port: 1, host: "::1" }, timeout: 2, interval: 2 } }).readiness, {
    kind: "tcp",
    host: "::1",
    port: 1,
    owned: true,
    timeout: 2,
    interval: 2,
  });
  assert.equal(one({ process: "x", readiness: { http: { url: "https://localhost:8443/health" } } }).readiness, {
    kind: "http",
    url: "https://localhost:8443/health",
    status: 200,
    timeout: 30,
    interval: 0.1,
  });
  assert.equal(one({ process: "x", readiness: { command: "pg_isready -q", timeout: 60 } }).readiness, { kind: "command", command: "pg_isready -q", timeout: 60, interval: 0.1 });
  assert.equal(one({ process: "x", readiness: { logLine: "^listening on \\d+$" } }).readiness, { kind: "logLine", pattern: "^listening on \\d+$", timeout: 30, interval: 0.1 });
  assert.equal(one({ process: "x", readiness: { pidFile: true } }).readiness, { kind: "pidFile", path: `${STATE_DIR}/run/app.pid`, timeout: 30, interval: 0.1 });
});

test("stop signals are normalized; restart as a policy or an object", () => {
  const spec = one({ process: "x", stop: { signal: "int", reloadSignal: "usr1", timeout: 2.5 }, restart: "always" });
  assert.equal(spec.stop, { signal: "SIGINT", timeout: 2.5, reloadSignal: "SIGUSR1" });
  const limit = { burst: 5, interval: 60 };
  assert.equal(spec.restart, { policy: "always", delay: 1, maxDelay: 30, limit });
  assert.equal(one({ process: "x", restart: { delay: 0 } }).restart, { policy: "on-failure", delay: 0, maxDelay: 30, limit });
  assert.equal(one({ process: "x", restart: { policy: "no", delay: 5 } }).restart, { policy: "no", delay: 5, maxDelay: 30, limit });
});

test("PATH: path entries first, then the minimal PATH", () => {
  const spec = one({ process: "x", path: ["/opt/tool/bin", "bin"] });
  assert.equal(spec.path, ["/opt/tool/bin", `${MODEL_DIR}/bin`]);
  assert.is(spec.environment.PATH, `/opt/tool/bin:${MODEL_DIR}/bin:${MINIMAL_PATH}`);
});

test("PATH: path entries first, then a declared PATH instead of the minimal one", () => {
  const spec = one({ process: "x", path: ["/opt/a"], environment: { PATH: "/custom/bin:/bin", HOME: "/home/app" } });
  assert.equal(spec.environment, { PATH: "/opt/a:/custom/bin:/bin", HOME: "/home/app" });
  assert.is(one({ process: "x", environment: { PATH: "/only" } }).environment.PATH, "/only");
});

test("umask is padded to four digits", () => {
  assert.is(one({ process: "x", umask: "022" }).umask, "0022");
  assert.is(one({ process: "x", umask: "0077" }).umask, "0077");
  assert.is(one({ process: "x", umask: "777" }).umask, "0777");
});

test("user and group are kept, and dropped with forceDisableUserChange", () => {
  const fields = { process: "x", user: "www-data", group: "1000" };
  const kept = one(fields);
  assert.is(kept.user, "www-data");
  assert.is(kept.group, "1000");
  const context = createContext({ stateDir: STATE_DIR, modelDir: MODEL_DIR, forceDisableUserChange: true });
  const dropped = resolve({ app: fields }, MODULE, context).processes[0]!;
  assert.is(dropped.user, undefined);
  assert.is(dropped.group, undefined);
  // Dropped, but still checked.
  const result = normalizeModel({ app: { process: "x", user: "no body" } }, context, MODULE);
  assert.is(result.model, undefined);
  assert.equal(result.issues.map((issue) => issue.field), ["user"]);
});

test("dependencies given as objects resolve to names, in declaration order, without duplicates", () => {
  const db = createManagedProcess({ name: "db", process: "/bin/db" });
  const cache = createManagedProcess({ name: "cache", process: "/bin/cache" });
  const web = createManagedProcess({ name: "web", process: "/bin/web", activatesAfter: [db, "cache", cache, db] });
  const model = resolve(defineProcesses({ web, db, cache }));
  assert.equal(
    model.processes.map((spec) => [spec.name, spec.activatesAfter]),
    [
      ["web", ["db", "cache"]],
      ["db", []],
      ["cache", []],
    ],
  );
});

test("objects without a name resolve to their key in a mapping", () => {
  const db = { process: "/bin/db" };
  const model = resolve({ database: db, web: { process: "/bin/web", activatesAfter: [db] } });
  assert.equal(model.processes[1]!.activatesAfter, ["database"]);
});

test("Nix-style activatesAfter as a mapping", () => {
  const db = { name: "db", process: "/bin/db" };
  const model = resolve([db, { name: "cache", process: "x" }, { name: "web", process: "/bin/web", activatesAfter: { database: db, cache: "cache" } }]);
  assert.equal(model.processes[2]!.activatesAfter, ["db", "cache"]);
});

test("relative executable paths resolve against modelDir; bare command names stay bare", () => {
  const spec = one({ foregroundProcess: "./bin/server", daemon: "../sbin/d", args: ["./not-a-path-to-resolve"] });
  assert.equal(spec.foreground, { executable: `${MODEL_DIR}/bin/server`, args: ["./not-a-path-to-resolve"] });
  assert.equal(spec.daemon, { executable: "/srv/models/sbin/d", args: ["./not-a-path-to-resolve"] });
  assert.equal(one({ process: "node" }).foreground, { executable: "node", args: [] });
  assert.equal(one({ process: "/usr/bin/node" }).foreground, { executable: "/usr/bin/node", args: [] });
});

test("a relative directory resolves against modelDir", () => {
  assert.is(one({ process: "x", directory: "data" }).directory, `${MODEL_DIR}/data`);
  assert.is(one({ process: "x", directory: "/var/lib/app" }).directory, "/var/lib/app");
});

test("the resolved model is deeply frozen", () => {
  const model = resolve({
    app: {
      process: "x",
      args: ["a"],
      environment: { A: "1" },
      readiness: { tcp: { port: 1 } },
      overrides: { systemd: { Service: { LimitNOFILE: 1024, Environment: ["A=1"] } } },
    },
  });
  const spec = model.processes[0]!;
  const objects: unknown[] = [
    model,
    model.context,
    model.processes,
    spec,
    spec.foreground,
    spec.foreground!.args,
    spec.environment,
    spec.path,
    spec.activatesAfter,
    spec.readiness,
    spec.stop,
    spec.restart,
    spec.restart.limit,
    spec.log,
    spec.overrides,
    spec.overrides.systemd,
    spec.overrides.systemd!.Service,
    spec.overrides.systemd!.Service!.Environment,
  ];
  for (const object of objects) assert.ok(Object.isFrozen(object), `not frozen: ${JSON.stringify(object)}`);
  assert.throws(() => {
    (spec.foreground!.args as string[]).push("b");
  });
  assert.throws(() => {
    (spec.environment as Record<string, string>).A = "2";
  });
});

test("the resolved model does not share mutable state with the input", () => {
  const input = { app: { process: "x", args: ["a"], environment: { A: "1" }, overrides: { direct: { k: ["v"] } } } };
  const model = resolve(input);
  input.app.args.push("b");
  input.app.environment.A = "2";
  input.app.overrides.direct.k.push("w");
  assert.equal(model.processes[0]!.foreground!.args, ["a"]);
  assert.is(model.processes[0]!.environment.A, "1");
  assert.equal(model.processes[0]!.overrides, { direct: { k: ["v"] } });
  assert.not.ok(Object.isFrozen(input.app.args));
});

const AWKWARD = [
  "with space",
  "'single' \"double\"",
  "$HOME ${HOME} $(id) `id`",
  "100% %s %n",
  "a;b && c | d",
  "back\\slash \\n \\\\",
  "tab\there",
  "new\nline",
  "",
  "non-ASCII: é 中文 🚀",
  "trailing space ",
  "--flag=x y",
];

test("args with awkward characters pass through byte for byte", () => {
  const spec = one({ foregroundProcess: "/bin/x", args: AWKWARD, daemon: "/bin/d", daemonArgs: [...AWKWARD].reverse() });
  assert.equal(spec.foreground!.args, AWKWARD);
  assert.equal(spec.daemon!.args, [...AWKWARD].reverse());
  for (const [index, arg] of spec.foreground!.args.entries()) {
    assert.ok(Buffer.from(arg).equals(Buffer.from(AWKWARD[index]!)), `arg ${index} changed`);
  }
});

test("environment values with awkward characters pass through byte for byte", () => {
  const environment = Object.fromEntries(AWKWARD.map((value, index) => [`V${index}`, value]));
  const spec = one({ process: "x", environment });
  assert.equal(spec.environment, { ...environment, PATH: MINIMAL_PATH });
  // initialize and readiness.command are shell text and may hold newlines too.
  const shell = one({ process: "x", initialize: "mkdir -p 'a b'\necho \"$X\" > %s", readiness: { command: "test -e 'a b' && exit 0\n" } });
  assert.is(shell.initialize, "mkdir -p 'a b'\necho \"$X\" > %s");
  assert.equal(shell.readiness, { kind: "command", command: "test -e 'a b' && exit 0\n", timeout: 30, interval: 0.1 });
});

test("descriptions with quotes and non-ASCII are kept", () => {
  assert.is(one({ process: "x", description: 'Serves "café" \\ more' }).description, 'Serves "café" \\ more');
});

test("data models (nameMustMatchKey) resolve the same as module models when names equal keys", () => {
  const model = { a: { process: "x" }, b: { name: "b", process: "y", activatesAfter: ["a"] } };
  assert.equal(resolve(model, DATA), resolve(model, MODULE));
});

test("normalizeModel returns edges even when fields are broken, and no model", () => {
  const result = normalizeModel({ a: { process: "x", nice: 99, activatesAfter: ["b"] }, b: { process: "y" } }, CONTEXT, MODULE);
  assert.is(result.model, undefined);
  assert.equal(result.edges, [
    { name: "a", activatesAfter: ["b"] },
    { name: "b", activatesAfter: [] },
  ]);
  assert.is(result.issues.length, 1);
});

test("createManagedProcess and defineProcesses return what they are given", () => {
  const input = { name: "a", process: "x" };
  assert.is(createManagedProcess(input), input);
  const fn = () => [input];
  assert.is(defineProcesses(fn), fn);
});

test.run();
