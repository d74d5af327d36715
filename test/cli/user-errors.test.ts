// User errors the CLI once called "internal error", models that never finish or exit, damaged
// state files and untrusted state dirs — through the built binary, with the exit codes of the
// contract: 1 the operation failed, 2 bad input.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { procman, show } from "../helpers/cli.js";
import { EXAMPLES, fixture } from "../helpers/paths.js";
import { makeTempDir } from "../helpers/tmp.js";

const WEBAPP_TS = path.join(EXAMPLES, "webapp", "processes.ts");
const stateEnv = () => ({ PROCMAN_STATE_DIR: path.join(makeTempDir(), "state") });

function assertNamed(run: Awaited<ReturnType<typeof procman>>, code: number, message: string): void {
  assert.is(run.code, code, show(run));
  assert.match(run.stderr, message, show(run));
  assert.not.match(run.stderr, "internal error", show(run));
  assert.not.match(run.stderr, /\n\s+at /, "no stack trace without --debug");
}

// ---- models that never finish, or exit ----

test("validate of a model whose promise never settles: exit 2 at once, naming the file", async () => {
  const file = fixture("loader/never-settles/processes.mjs");
  // Far below the 30 s default timeout: the drained event loop is noticed at once.
  const run = await procman(["validate", file], { env: stateEnv(), timeoutMs: 15_000 });
  assertNamed(run, 2, `procman: ${file}: the model never finished loading`);
});

test("validate of a model that stays pending with work scheduled: exit 2 after --load-timeout, and procman does not linger", async () => {
  const file = fixture("loader/never-settles-busy/processes.mjs");
  // The fixture keeps an interval for 8 s; procman must exit when it reports, not when the model lets go.
  const run = await procman(["validate", file, "--load-timeout", "1"], { env: stateEnv(), timeoutMs: 6_000 });
  assertNamed(run, 2, `procman: ${file}: the model did not finish loading within 1 s (--load-timeout)`);
});

// A review: generate had no --load-timeout and ignored PROCMAN_LOAD_TIMEOUT (it waited 30 s).
test("generate takes --load-timeout and PROCMAN_LOAD_TIMEOUT like every command that loads a model", async () => {
  const file = fixture("loader/never-settles-busy/processes.mjs");
  const [flag, env] = await Promise.all([
    procman(["generate", file, "-P", "systemd", "--out", makeTempDir(), "--load-timeout", "1"], { env: stateEnv(), timeoutMs: 6_000 }),
    procman(["generate", file, "-P", "systemd", "--out", makeTempDir()], { env: { ...stateEnv(), PROCMAN_LOAD_TIMEOUT: "1" }, timeoutMs: 6_000 }),
  ]);
  for (const run of [flag, env]) assertNamed(run, 2, `procman: ${file}: the model did not finish loading within 1 s (--load-timeout)`);
});

// The timer cannot fire while the model's code runs: a watchdog thread ends that code.
for (const fixtureName of ["spins", "spins-in-function"]) {
  test(`validate of a model stuck in a synchronous loop (${fixtureName}): exit 2 after --load-timeout`, async () => {
    const file = fixture(`loader/${fixtureName}/processes.ts`);
    const run = await procman(["validate", file, "--load-timeout", "1"], { env: stateEnv(), timeoutMs: 15_000 });
    assertNamed(run, 2, `procman: ${file}: the model did not finish loading within 1 s (--load-timeout)`);
  });
}

test("--load-timeout must be a positive number (flag and PROCMAN_LOAD_TIMEOUT)", async () => {
  const [flag, env] = await Promise.all([
    procman(["validate", WEBAPP_TS, "--load-timeout", "soon"], { env: stateEnv() }),
    procman(["validate", WEBAPP_TS], { env: { ...stateEnv(), PROCMAN_LOAD_TIMEOUT: "-1" } }),
  ]);
  assertNamed(flag, 2, "--load-timeout <seconds>' argument 'soon' is invalid");
  assertNamed(env, 2, "from env 'PROCMAN_LOAD_TIMEOUT' is invalid");
});

test("a model calling process.exit(0) while it loads: validate and switch exit 2 naming it; nothing is deployed", async () => {
  const file = fixture("loader/exits/processes.mjs");
  const env = stateEnv();
  const validate = await procman(["validate", file], { env });
  assertNamed(validate, 2, `procman: ${file}: the model called process.exit(0) while loading`);
  const run = await procman(["switch", file], { env });
  assertNamed(run, 2, `procman: ${file}: the model called process.exit(0) while loading`);
  assert.not.ok(existsSync(env.PROCMAN_STATE_DIR), "bad input changed nothing on disk");
});

// ---- what used to be an "internal error" ----

test("a model getter that throws: exit 2 naming the file and the property", async () => {
  const file = fixture("loader/getter-throws-nested/processes.ts");
  const run = await procman(["validate", file], { env: stateEnv() });
  assertNamed(run, 2, `procman: ${file}: reading "web.args" threw: ARGS is not set`);
});

test("validate of a directory: exit 2 pointing at the model file inside", async () => {
  const dir = path.join(EXAMPLES, "webapp");
  const run = await procman(["validate", dir], { env: stateEnv() });
  assertNamed(run, 2, `procman: ${dir}: is a directory; give the model file (${path.join(dir, "processes.ts")}?)`);
});

test("visualize -o into a missing directory: exit 1 naming the file", async () => {
  const out = path.join(makeTempDir(), "missing", "dir", "x.dot");
  const run = await procman(["visualize", WEBAPP_TS, "-o", out], { env: stateEnv() });
  assertNamed(run, 1, `procman: cannot write ${out}: no such file or directory (ENOENT)`);
});

/** Mounts a read-only tmpfs; undefined (after saying so) when this cannot be done here. */
function readOnlyMount(name: string): { dir: string; remove: () => void } | undefined {
  const dir = path.join(makeTempDir(), "ro");
  mkdirSync(dir);
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", dir], { encoding: "utf8" });
  if (mount.status !== 0) {
    if (process.env.CI === "true") throw new Error(`${name}: cannot mount a tmpfs (${mount.stderr.trim()}); required in CI`);
    console.log(`  SKIP ${name}: cannot mount a tmpfs (${mount.stderr.trim() || "not root?"})`);
    return undefined;
  }
  return { dir, remove: () => void spawnSync("umount", [dir]) };
}

test("switch into a read-only state dir: exit 1 naming the directory, not an internal error", async () => {
  const mount = readOnlyMount("read-only state dir");
  if (mount === undefined) return;
  try {
    const model = path.join(makeTempDir(), "model.json");
    writeFileSync(model, JSON.stringify({ a: { process: "/bin/sleep", args: ["100"] } }));
    const run = await procman(["switch", model, "--state-dir", mount.dir]);
    assertNamed(run, 1, `procman: cannot create ${path.join(mount.dir, "lib")}: the file system is read-only (EROFS)`);
  } finally {
    mount.remove();
  }
});

// ---- damaged state files ----

test("generations and rollback with a truncated generation: exit 1 naming the file, no TypeError", async () => {
  const dir = makeTempDir();
  const lib = path.join(dir, "lib", "procman");
  mkdirSync(path.join(lib, "generations"), { recursive: true });
  writeFileSync(path.join(lib, "generations", "1.json"), '{ "generation": 1, "createdAt": "2026');
  writeFileSync(path.join(lib, "current.json"), JSON.stringify({ generation: 1, active: true }));
  const file = path.join(lib, "generations", "1.json");
  for (const args of [["generations"], ["rollback"], ["visualize"]]) {
    const run = await procman([...args, "--state-dir", dir]);
    assertNamed(run, 1, `procman: ${file}: unreadable record`);
    assert.not.match(run.stderr, "TypeError", show(run));
  }
});

test("visualize of a deployment whose current.json is {}: exit 1 naming current.json", async () => {
  const dir = makeTempDir();
  const lib = path.join(dir, "lib", "procman");
  mkdirSync(lib, { recursive: true });
  writeFileSync(path.join(lib, "current.json"), "{}");
  const run = await procman(["visualize", "--state-dir", dir]);
  assertNamed(run, 1, `procman: ${path.join(lib, "current.json")}: not a valid record: "generation" is missing, "active" is missing`);
});

// ---- who may change the state dir ----

test("a dry run, and commands refused because nothing is deployed, leave a fresh state dir unmade", async () => {
  const state = path.join(makeTempDir(), "state");
  const dry = await procman(["switch", WEBAPP_TS, "--dry-run", "--state-dir", state]);
  assert.is(dry.code, 0, show(dry));
  assert.match(dry.stdout, "webapp", "the plan is shown");
  for (const command of [["rollback"], ["start"], ["start", "x"], ["stop", "x"], ["restart", "x"], ["reload", "x"]]) {
    const run = await procman([...command, "--state-dir", state]);
    assertNamed(run, 2, `nothing`);
  }
  assert.not.ok(existsSync(state), "nothing was written");
});

test("switch into a state dir others may write (no sticky bit): exit 2, nothing started", async () => {
  const dir = makeTempDir();
  chmodSync(dir, 0o777);
  const model = path.join(makeTempDir(), "model.json");
  writeFileSync(model, JSON.stringify({ a: { process: "/bin/sleep", args: ["100"] } }));
  const run = await procman(["switch", model, "--state-dir", dir]);
  assertNamed(run, 2, `procman: ${dir}: any user may write it`);
  assert.not.ok(existsSync(path.join(dir, "lib")), "nothing was created");
});

// A review: startup skipped the check for a state dir not made yet and installed a boot script
// for it; status then refused the same state dir.
test("startup --install for a state dir not made yet under a directory others may write: exit 2, nothing installed", async () => {
  const open = makeTempDir();
  chmodSync(open, 0o777);
  const root = makeTempDir();
  const run = await procman(["startup", "-P", "sysvinit", "--state-dir", path.join(open, "state"), "--install", "--root", root]);
  assertNamed(run, 2, `procman: ${open}: any user may write it`);
  assert.not.ok(existsSync(path.join(root, "etc")), "nothing was installed");
});

test("status of a state dir owned by another user: exit 2 naming it", async () => {
  if (process.getuid?.() !== 0) return console.log("  SKIP status of a foreign state dir: needs root to chown");
  const dir = makeTempDir();
  chownSync(dir, 65534, 65534);
  const run = await procman(["status", "--state-dir", dir]);
  assertNamed(run, 2, `procman: ${dir}: it belongs to uid 65534`);
});

test("a group-writable state dir: a warning on stderr, and the command works", async () => {
  const dir = makeTempDir();
  chmodSync(dir, 0o770);
  const run = await procman(["generations", "--state-dir", dir]);
  assert.is(run.code, 0, show(run));
  assert.match(run.stderr, `procman: warning: ${dir} is writable by its group`);
});

test.run();
