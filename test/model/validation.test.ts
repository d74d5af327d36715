// Validation: every rule, with hostile models. Each test asserts the exact issue text, which names
// the process and the field, so a rule that stops firing (or fires on the wrong field) fails here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ModelError } from "../../src/errors.js";
import { DATA, MODULE, modelError, ok, problems, resolve } from "../helpers/model.js";

const NAME_RULE =
  'is not a valid name: use letters, digits, "_", "." and "-" (not first), at most 200 characters; it becomes part of file and unit names';

// ---- dependency cycles ----

test("cycle of length 1: a process that activatesAfter itself", () => {
  assert.equal(problems({ a: ok({ activatesAfter: ["a"] }) }), ["a: activatesAfter: dependency cycle: a -> a"]);
});

test("cycle of length 2 names both members, starting and ending at the same process", () => {
  assert.equal(problems({ a: ok({ activatesAfter: ["b"] }), b: ok({ activatesAfter: ["a"] }) }), [
    "a: activatesAfter: dependency cycle: a -> b -> a",
  ]);
});

test("cycle of length 5 lists every member in activatesAfter order", () => {
  const model = {
    a: ok({ activatesAfter: ["b"] }),
    b: ok({ activatesAfter: ["c"] }),
    c: ok({ activatesAfter: ["d"] }),
    d: ok({ activatesAfter: ["e"] }),
    e: ok({ activatesAfter: ["a"] }),
    outside: ok({ activatesAfter: ["c"] }), // depends on the cycle, is not part of it
  };
  const issues = problems(model);
  assert.equal(issues, ["a: activatesAfter: dependency cycle: a -> b -> c -> d -> e -> a"]);
  const path = /dependency cycle: (.*)$/.exec(issues[0]!)![1]!.split(" -> ");
  assert.is(path.length, 6);
  assert.is(path[0], path.at(-1));
  assert.equal(new Set(path).size, 5);
});

test("a cycle is reported from its first declared member, whatever the declaration order", () => {
  // c activatesAfter a, a activatesAfter b, b activatesAfter c; c is declared first.
  const model = [
    { name: "c", process: "x", activatesAfter: ["a"] },
    { name: "a", process: "x", activatesAfter: ["b"] },
    { name: "b", process: "x", activatesAfter: ["c"] },
  ];
  assert.equal(problems(model), ["c: activatesAfter: dependency cycle: c -> a -> b -> c"]);
});

test("two disjoint cycles are both reported", () => {
  const model = {
    a: ok({ activatesAfter: ["b"] }),
    b: ok({ activatesAfter: ["a"] }),
    free: ok(),
    x: ok({ activatesAfter: ["y"] }),
    y: ok({ activatesAfter: ["z"] }),
    z: ok({ activatesAfter: ["x", "free"] }),
  };
  assert.equal(problems(model), [
    "a: activatesAfter: dependency cycle: a -> b -> a",
    "x: activatesAfter: dependency cycle: x -> y -> z -> x",
  ]);
});

test("dependencies given as objects form cycles too", () => {
  const a: Record<string, unknown> = { name: "a", process: "x" };
  const b = { name: "b", process: "x", activatesAfter: [a] };
  a.activatesAfter = [b];
  assert.equal(problems([a, b]), ["a: activatesAfter: dependency cycle: a -> b -> a"]);
});

// ---- dependencies ----

test("unknown dependency names the process, activatesAfter[i] and the unknown name", () => {
  const model = { web: ok(), db: ok(), proxy: ok({ activatesAfter: ["web", "dbb"] }) };
  assert.equal(problems(model), ['proxy: activatesAfter[1]: depends on unknown process "dbb" (the model has: db, proxy, web)']);
});

test("unknown dependency in a Nix-style mapping names activatesAfter.<key>", () => {
  assert.equal(problems({ a: ok({ activatesAfter: { database: "postgres" } }) }), [
    'a: activatesAfter.database: depends on unknown process "postgres" (the model has: a)',
  ]);
});

test("a dependency object that is not in the model is unknown by its name", () => {
  const ghost = { name: "ghost", process: "x" };
  assert.equal(problems({ a: ok({ activatesAfter: [ghost] }) }), [
    'a: activatesAfter[0]: depends on unknown process "ghost" (the model has: a)',
  ]);
});

test("dependencies that are neither names nor processes are rejected", () => {
  assert.equal(problems({ a: ok({ activatesAfter: [42, { process: "x" }, null] }) }), [
    "a: activatesAfter[0]: must be a process of this model or its name (got number 42)",
    "a: activatesAfter[1]: must be a process of this model or its name (got an object)",
    "a: activatesAfter[2]: must be a process of this model or its name (got null)",
  ]);
  assert.equal(problems({ a: ok({ activatesAfter: "b" }), b: ok() }), [
    'a: activatesAfter: must be a list of processes or names (got string "b")',
  ]);
});

// ---- names ----

test("duplicate names in a list", () => {
  const model = [
    { name: "web", process: "x" },
    { name: "db", process: "x" },
    { name: "web", process: "y" },
  ];
  assert.equal(problems(model), ['web: name: duplicate name: process #3 ("web") and process #1 ("web") are both called "web"']);
});

test("duplicate names in a TS-style mapping: two entries carry the same name", () => {
  const model = { first: { name: "web", process: "x" }, second: { name: "web", process: "y" } };
  assert.equal(problems(model, MODULE), ['web: name: duplicate name: second and first are both called "web"']);
});

test("a name that equals another entry's key is a duplicate", () => {
  assert.equal(problems({ web: ok(), other: ok({ name: "web" }) }, MODULE), [
    'web: name: duplicate name: other and web are both called "web"',
  ]);
});

test("names with '/', spaces, quotes, empty, a leading '-' or a newline are rejected", () => {
  const names = ["a/b", "a b", 'a"b', "it's", "", "-a", ".hidden", "a\nb", "x".repeat(201)];
  const issues = problems(names.map((name) => ({ name, process: "x" })));
  assert.equal(
    issues,
    names.map((name, index) => `process #${index + 1} (${JSON.stringify(name)}): name: ${JSON.stringify(name)} ${NAME_RULE}`),
  );
  // Issues are one line each, even for a name holding a newline.
  for (const issue of issues) assert.not.match(issue, "\n");
});

test("names at the edge of the rule are accepted", () => {
  const names = ["a", "A-b_c.d", "_x", "0day", "x".repeat(200)];
  const model = resolve(names.map((name) => ({ name, process: "x" })));
  assert.equal(
    model.processes.map((process) => process.name),
    names,
  );
});

test("a mapping key that is not a valid name is rejected", () => {
  assert.equal(problems({ "my web": ok() }), [`"my web": name: "my web" ${NAME_RULE}`]);
});

test("a name that is not a string, and a list entry without a name", () => {
  assert.equal(problems([{ name: 5, process: "x" }, { process: "y" }]), [
    "process #1: name: must be a string (got number 5)",
    "process #2: name: is required for the processes of a list",
  ]);
});

test("YAML-style mapping: a name that differs from its key is rejected when nameMustMatchKey", () => {
  assert.equal(problems({ web: ok({ name: "webapp" }) }, DATA), [
    'web: name: "webapp" differs from its key "web"; leave it out or make them equal',
  ]);
  // The same name as the key is fine.
  assert.equal(resolve({ web: ok({ name: "web" }) }, DATA).processes[0]!.name, "web");
});

test("TS-style mapping: the name may differ from the key (the key is a variable name)", () => {
  const model = resolve({ web: ok({ name: "webapp" }), proxy: ok({ activatesAfter: ["webapp"] }) }, MODULE);
  assert.equal(
    model.processes.map((process) => [process.name, process.activatesAfter]),
    [
      ["webapp", []],
      ["proxy", ["webapp"]],
    ],
  );
});

test("a process entry that is not an object", () => {
  assert.equal(problems({ a: "just a string", b: null, c: [] }), [
    'a: must be an object describing a process (got string "just a string")',
    "b: must be an object describing a process (got null)",
    "c: must be an object describing a process (got an array)",
  ]);
});

// ---- executables and their arguments ----

test("no executable", () => {
  assert.equal(problems({ a: { description: "nothing to run" } }), ["a: process: no executable: set process, foregroundProcess or daemon"]);
});

test("process, foregroundProcess and daemon all set: process is never used", () => {
  assert.equal(problems({ a: { process: "/bin/a", foregroundProcess: "/bin/b", daemon: "/bin/c" } }), [
    "a: process: is never used: foregroundProcess and daemon are both set",
  ]);
});

test("foregroundProcessArgs without a foreground executable", () => {
  assert.equal(problems({ a: { daemon: "/usr/sbin/d", foregroundProcessArgs: ["-f"] } }), [
    "a: foregroundProcessArgs: given, but there is no foregroundProcess or process to pass them to",
  ]);
});

test("daemonArgs without daemon or process", () => {
  assert.equal(problems({ a: { foregroundProcess: "/bin/f", daemonArgs: ["-d"] } }), [
    "a: daemonArgs: given, but there is no daemon or process to pass them to",
  ]);
});

test("args that no mode uses", () => {
  assert.equal(problems({ a: { process: "/bin/p", args: ["x"], foregroundProcessArgs: ["y"] } }), [
    "a: args: is never used: foregroundProcessArgs and daemonArgs replace it in every mode",
  ]);
  // With a daemon and no daemonArgs, the daemon uses args: fine.
  const daemon = resolve({ a: { foregroundProcess: "/bin/f", foregroundProcessArgs: ["y"], daemon: "/bin/d", args: ["x"] } }).processes[0]!;
  assert.equal(daemon.daemon, { executable: "/bin/d", args: ["x"] });
});

test("executables, args and paths of the wrong type", () => {
  assert.equal(problems({ a: { process: "", args: "-v", pidFile: 5 }, b: { daemon: ["/bin/x"], daemonArgs: ["ok", 7] } }), [
    "a: process: must not be empty",
    "a: args: must be a list of strings (got string \"-v\")",
    "a: pidFile: must be a string (got number 5)",
    "b: daemon: must be a string (got an array)",
    "b: daemonArgs[1]: must be a string (got number 7)",
  ]);
});

// ---- umask, nice, user, group ----

test("malformed umask: number 22, '999', '0x12'", () => {
  assert.equal(problems({ a: ok({ umask: 22 }), b: ok({ umask: "999" }), c: ok({ umask: "0x12" }), d: ok({ umask: "00022" }) }), [
    'a: umask: must be an octal string such as "022" (got number 22, which is ambiguous: YAML reads 022 as twenty-two)',
    'b: umask: must be an octal string of 3 or 4 digits such as "022" (got string "999")',
    'c: umask: must be an octal string of 3 or 4 digits such as "022" (got string "0x12")',
    'd: umask: must be an octal string of 3 or 4 digits such as "022" (got string "00022")',
  ]);
});

test("malformed nice: 21, 1.5, '5'", () => {
  assert.equal(problems({ a: ok({ nice: 21 }), b: ok({ nice: 1.5 }), c: ok({ nice: "5" }), d: ok({ nice: -21 }) }), [
    "a: nice: must be an integer at least -20 and at most 19 (got 21)",
    "b: nice: must be an integer (got number 1.5)",
    'c: nice: must be an integer (got string "5")',
    "d: nice: must be an integer at least -20 and at most 19 (got -21)",
  ]);
  assert.equal(
    resolve({ a: ok({ nice: -20 }), b: ok({ nice: 19 }) }).processes.map((process) => process.nice),
    [-20, 19],
  );
});

test("user and group must be account names or numeric ids", () => {
  assert.equal(problems({ a: ok({ user: "bad user", group: "wheel;rm" }), b: ok({ user: "" }) }), [
    'a: user: "bad user" is not a valid user name or numeric id',
    'a: group: "wheel;rm" is not a valid group name or numeric id',
    "b: user: must not be empty",
  ]);
});

// ---- stop, restart, overrides ----

test("malformed stop.signal: 'SIGFOO', 15", () => {
  const issues = problems({ a: ok({ stop: { signal: "SIGFOO" } }), b: ok({ stop: { signal: 15 } }), c: ok({ stop: { reloadSignal: "HUPP" } }) });
  assert.is(issues.length, 3);
  assert.ok(issues[0]!.startsWith('a: stop.signal: string "SIGFOO" is not a signal name (one of SIGHUP, '), issues[0]);
  assert.ok(issues[1]!.startsWith("b: stop.signal: number 15 is not a signal name (one of "), issues[1]);
  assert.ok(issues[2]!.startsWith('c: stop.reloadSignal: string "HUPP" is not a signal name'), issues[2]);
  assert.match(issues[0]!, "SIGTERM");
});

test("stop: timeout and unknown fields", () => {
  assert.equal(problems({ a: ok({ stop: { timeout: 0, signl: "TERM" } }), b: ok({ stop: "TERM" }) }), [
    "a: stop.signl: unknown field (did you mean signal?)",
    "a: stop.timeout: must be a number greater than 0 and at most 86400 seconds (got 0)",
    'b: stop: must be an object such as { signal: "SIGINT", timeout: 20 } (got string "TERM")',
  ]);
});

test("restart policy invalid", () => {
  assert.equal(
    problems({
      a: ok({ restart: "sometimes" }),
      b: ok({ restart: { policy: "never" } }),
      c: ok({ restart: { delay: -1 } }),
      d: ok({ restart: 3 }),
    }),
    [
      'a: restart: must be one of no, on-failure, always (got "sometimes")',
      'b: restart.policy: must be one of no, on-failure, always (got string "never")',
      "c: restart.delay: must be a number at least 0 and at most 86400 seconds (got -1)",
      "d: restart: must be a policy (no, on-failure, always) or { policy, delay, maxDelay, limit } (got number 3)",
    ],
  );
});

test("overrides for an unknown process manager", () => {
  assert.equal(problems({ a: ok({ overrides: { upstart: { respawn: true } } }) }), [
    "a: overrides.upstart: unknown field (known: direct, supervisord, sysvinit, systemd, launchd)",
  ]);
  assert.equal(problems({ a: ok({ overrides: { systemd: { Service: "LimitNOFILE=1" } } }), b: ok({ overrides: { supervisord: 1 } }) }), [
    'a: overrides.systemd.Service: must be a mapping of unit settings (got string "LimitNOFILE=1")',
    "b: overrides.supervisord: must be a mapping of settings (got number 1)",
  ]);
});

// ---- readiness ----

test("readiness tcp port: 0, 70000, '80'", () => {
  const tcp = (port: unknown) => ok({ readiness: { tcp: { port } } });
  assert.equal(problems({ a: tcp(0), b: tcp(70000), c: tcp("80"), d: tcp(undefined) }), [
    "a: readiness.tcp.port: must be an integer at least 1 and at most 65535 (got 0)",
    "b: readiness.tcp.port: must be an integer at least 1 and at most 65535 (got 70000)",
    'c: readiness.tcp.port: must be an integer (got string "80")',
    "d: readiness.tcp.port: must be an integer (got undefined)",
  ]);
});

test("readiness timeout: 0, -1, '5'", () => {
  const timeout = (value: unknown) => ok({ readiness: { command: "true", timeout: value } });
  assert.equal(problems({ a: timeout(0), b: timeout(-1), c: timeout("5") }), [
    "a: readiness.timeout: must be a number greater than 0 and at most 86400 seconds (got 0)",
    "b: readiness.timeout: must be a number greater than 0 and at most 86400 seconds (got -1)",
    'c: readiness.timeout: must be a number of seconds (got string "5")',
  ]);
});

test("readiness interval longer than timeout", () => {
  assert.equal(problems({ a: ok({ readiness: { command: "true", timeout: 1, interval: 2 } }) }), [
    "a: readiness.interval: (2 s) is longer than readiness.timeout (1 s)",
  ]);
});

test("two readiness kinds at once", () => {
  assert.equal(problems({ a: ok({ readiness: { tcp: { port: 80 }, http: { url: "http://127.0.0.1/" } } }) }), [
    "a: readiness: has tcp and http; give exactly one kind of check",
  ]);
});

test("invalid logLine regular expression", () => {
  const issues = problems({ a: ok({ readiness: { logLine: "listening on ([0-9" } }) });
  assert.is(issues.length, 1);
  assert.ok(issues[0]!.startsWith("a: readiness.logLine: is not a valid regular expression: "), issues[0]);
});

test("http readiness url must be http(s)", () => {
  assert.equal(
    problems({
      a: ok({ readiness: { http: { url: "ftp://127.0.0.1/" } } }),
      b: ok({ readiness: { http: { url: "localhost:8080" } } }),
      c: ok({ readiness: { http: { url: "http://127.0.0.1/", status: 99 } } }),
    }),
    [
      'a: readiness.http.url: must be an http:// or https:// URL (got "ftp://127.0.0.1/")',
      'b: readiness.http.url: must be an http:// or https:// URL (got "localhost:8080")',
      "c: readiness.http.status: must be an integer at least 100 and at most 599 (got 99)",
    ],
  );
});

test("readiness: other malformed checks", () => {
  assert.equal(
    problems({
      a: ok({ readiness: { pidFile: "yes" } }),
      b: ok({ readiness: { command: "  " } }),
      c: ok({ readiness: { timeout: 5 } }),
      d: ok({ readiness: { tpc: { port: 80 } } }),
      e: ok({ readiness: "tcp" }),
    }),
    [
      'a: readiness.pidFile: must be true (got string "yes"); the PID file is the process\'s pidFile',
      "b: readiness.command: must not be empty",
      "c: readiness: sets a timeout but no check: add one of pidFile, tcp, http, command, logLine, file, notify",
      "d: readiness.tpc: unknown field (did you mean tcp?)",
      'e: readiness: must be an object such as { tcp: { port: 8080 } } (got string "tcp")',
    ],
  );
});

// ---- environment and text fields ----

test("environment names invalid: '1A', 'A-B', 'A B'", () => {
  assert.equal(problems({ a: ok({ environment: { "1A": "x", "A-B": "x", "A B": "x", OK_1: "x" } }) }), [
    'a: environment.1A: "1A" is not a valid variable name (letters, digits and "_", not starting with a digit)',
    'a: environment.A-B: "A-B" is not a valid variable name (letters, digits and "_", not starting with a digit)',
    'a: environment.A B: "A B" is not a valid variable name (letters, digits and "_", not starting with a digit)',
  ]);
});

test("environment values that are not strings: number, boolean, null, object", () => {
  assert.equal(problems({ a: ok({ environment: { PORT: 5000, DEBUG: true, NONE: null, NESTED: { x: "1" }, LIST: ["a"] } }) }), [
    'a: environment.PORT: must be a string (got number 5000); quote it: "5000"',
    'a: environment.DEBUG: must be a string (got boolean true); quote it: "true"',
    "a: environment.NONE: must be a string (got null)",
    "a: environment.NESTED: must be a string (got an object)",
    "a: environment.LIST: must be a string (got an array)",
  ]);
  assert.equal(problems({ a: ok({ environment: ["PORT=5000"] }) }), [
    "a: environment: must be a mapping from variable name to string (got an array)",
  ]);
});

test("NUL in an argument, an environment value or initialize", () => {
  assert.equal(problems({ a: ok({ args: ["ok", "a\0b"], environment: { X: "\0" }, initialize: "mkdir x\0" }) }), [
    "a: args[1]: contains a NUL character, which no process manager can pass on",
    "a: environment.X: contains a NUL character, which no process manager can pass on",
    "a: initialize: contains a NUL character, which no process manager can pass on",
  ]);
});

test("newline in a name, description, pidFile or directory", () => {
  assert.equal(
    problems([
      { name: "we\nb", process: "x" },
      { name: "c", process: "x", description: "two\nlines", pidFile: "/run/c\n.pid", directory: "/srv\n" },
      { name: "d", process: "/bin/\td", path: ["/opt\r/bin"] },
    ]),
    [
      `process #1 ("we\\nb"): name: "we\\nb" ${NAME_RULE}`,
      "c: description: contains a newline; it must be one line without control characters",
      "c: pidFile: contains a newline; it must be one line without control characters",
      "c: directory: contains a newline; it must be one line without control characters",
      "d: process: contains a tab; it must be one line without control characters",
      "d: path[0]: contains a carriage return; it must be one line without control characters",
    ],
  );
});

test("a path entry holding ':' is rejected", () => {
  assert.equal(problems({ a: ok({ path: ["/opt/a:/opt/b"] }) }), ['a: path[0]: contains ":", which separates PATH entries']);
});

test("unknown field with a suggestion", () => {
  assert.equal(problems({ a: { foregroundProces: "/bin/a" } }), [
    "a: foregroundProces: unknown field (did you mean foregroundProcess?)",
    "a: process: no executable: set process, foregroundProcess or daemon",
  ]);
  assert.equal(problems({ a: ok({ activatesAftre: [] , enviroment: {} }) }), [
    "a: activatesAftre: unknown field (did you mean activatesAfter?)",
    "a: enviroment: unknown field (did you mean environment?)",
  ]);
});

test("an unknown field with nothing close lists the known fields", () => {
  const issues = problems({ a: ok({ xyzzy: 1 }) });
  assert.is(issues.length, 1);
  assert.ok(issues[0]!.startsWith("a: xyzzy: unknown field (known: name, description, process, args, "), issues[0]);
});

// ---- everything at once ----

test("several problems in several processes are all reported at once, cycles included", () => {
  const model = {
    web: { foregroundProces: "/bin/web", nice: 40, activatesAfter: ["db"] },
    db: ok({ umask: 22, activatesAfter: ["web"], readiness: { tcp: { port: 0 } } }),
    proxy: ok({ activatesAfter: ["nope"], environment: { "BAD-NAME": "1", N: 1 } }),
    cache: ok({ stop: { signal: "SIGFOO" }, restart: "sometimes" }),
    "bad/name": ok(),
  };
  const error = modelError(model);
  const issues = error.issues.map((issue) => [issue.process, issue.field]);
  assert.equal(issues, [
    ['"bad/name"', "name"],
    ["web", "foregroundProces"],
    ["web", "process"],
    ["web", "nice"],
    ["db", "umask"],
    ["db", "readiness.tcp.port"],
    ["proxy", "activatesAfter[0]"],
    ["proxy", "environment.BAD-NAME"],
    ["proxy", "environment.N"],
    ["cache", "stop.signal"],
    ["cache", "restart"],
    ["web", "activatesAfter"],
  ]);
  assert.is(error.issues.length, 12);
  assert.is(error.issues.at(-1)!.message, "dependency cycle: web -> db -> web");
  assert.ok(error.message.startsWith("the model: 12 problems\n"), error.message);
  assert.is(error.message.split("\n").length, 13);
});

test("ModelError: stable code, exit code 2, the file in its message, one line per issue", () => {
  const error = modelError({ a: ok({ nice: 99 }) });
  assert.instance(error, ModelError);
  assert.is(error.code, "EMODEL");
  assert.is(error.exitCode, 2);
  assert.is(error.file, undefined);
  assert.is(error.message, "the model: 1 problem\n  - a: nice: must be an integer at least -20 and at most 19 (got 99)");
});

// ---- the model's own shape ----

test("non-object top-level exports are rejected with a clear message", () => {
  const head = "the model must be a mapping from name to process, a list of processes, or a function returning one";
  assert.equal(problems("hello"), [`${head} (got string "hello")`]);
  assert.equal(problems(42), [`${head} (got number 42)`]);
  assert.equal(problems(null), [`${head} (got null)`]);
  assert.equal(problems(undefined), [`${head} (got undefined)`]);
  assert.equal(problems(true), [`${head} (got boolean true)`]);
  assert.equal(problems(new Map()), [`${head} (got an object)`]);
});

test("an empty mapping or list is a valid, empty model", () => {
  assert.equal(resolve({}).processes, []);
  assert.equal(resolve([]).processes, []);
});

test("procman-supervisor is reserved: its log would be the supervisor's own", () => {
  const found = problems({ "procman-supervisor": ok() });
  assert.is(found.length, 1, found.join("\n"));
  assert.match(found[0]!, "is reserved");
});

test.run();
