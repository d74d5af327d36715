// An empty --state-dir (or other path) is what an unset shell variable gives: `--state-dir "$DIR"`.
// It must be refused (exit 2), never taken as the default state dir (/var for root) or the cwd.
// procman runs as nobody when the tests run as root: were it to take the default after all (the
// bug), it would deploy into a temporary $XDG_STATE_HOME, not into the host's /var.
import { chownSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BIN, runCaptured, show, type CliRun } from "../helpers/cli.js";
import { killLeftovers, writeJson } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

interface Home {
  readonly dir: string;
  readonly model: string;
  /** Where procman would deploy without --state-dir: must stay absent. */
  readonly defaultStateDir: string;
  readonly run: (args: readonly string[], env?: Record<string, string>) => Promise<CliRun>;
}

/** A home of its own (nobody's, as root) with a model; whatever runs there is stopped afterwards. */
async function withHome(body: (home: Home) => Promise<void>): Promise<void> {
  const dir = makeTempDir();
  const model = writeJson(path.join(dir, "model.json"), { web: { foregroundProcess: "/bin/sleep", args: ["600"] } });
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_STATE_HOME: path.join(dir, "state"), NO_COLOR: "1" };
  const run = (args: readonly string[], extra: Record<string, string> = {}) =>
    runCaptured(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extra }, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) }, 20_000, `procman ${args.join(" ")}`);
  const home = { dir, model, defaultStateDir: path.join(dir, "state", "procman"), run };
  try {
    await body(home);
  } finally {
    for (const stateDir of [home.defaultStateDir, path.join(dir, "explicit")]) {
      if (existsSync(stateDir)) await run(["stop", "--state-dir", stateDir]).catch(() => undefined);
      killLeftovers(stateDir);
    }
  }
}

function assertRefused(run: CliRun, message: string | RegExp): void {
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, message, show(run));
  assert.not.match(run.stderr, "internal error", show(run));
}

test('--state-dir "": every command that takes it exits 2 and creates no state dir', async () => {
  await withHome(async ({ dir, model, defaultStateDir, run }) => {
    const commands = [
      ["switch", model],
      ["up", model],
      ["validate", model],
      ["generate", model, "-P", "systemd", "--out", path.join(dir, "out")],
      ["visualize"],
      ["visualize", model],
      ["stop"],
      ["stop", "web"],
      ["start", "web"],
      ["restart", "web"],
      ["reload", "web"],
      ["status"],
      ["generations"],
      ["rollback"],
      ["logs"],
      ["startup", "-P", "systemd"],
    ];
    const runs = await Promise.all(commands.map((args) => run([...args, "--state-dir", ""])));
    for (const result of runs) assertRefused(result, /--state-dir <dir>' argument '' is invalid\. must not be empty/);
    assert.not.ok(existsSync(defaultStateDir), "no default state dir");
    assert.equal(readdirSync(dir), ["model.json"], "nothing written to the working directory");
  });
});

test("PROCMAN_STATE_DIR set but empty: exit 2 naming it", async () => {
  await withHome(async ({ defaultStateDir, run }) => {
    assertRefused(await run(["status"], { PROCMAN_STATE_DIR: "" }), "PROCMAN_STATE_DIR is set but empty");
    assert.not.ok(existsSync(defaultStateDir));
  });
});

// A review: generate -P systemd wrote a newline in the state dir as a space in the units (another
// path) while the tmpfiles line kept it.
test("a state dir with a control character: exit 2, for every command, from the flag or the environment", async () => {
  await withHome(async ({ dir, model, run }) => {
    const bad = path.join(dir, "nl\nx");
    const runs = await Promise.all([
      run(["switch", model, "--state-dir", bad]),
      run(["generate", model, "-P", "systemd", "--state-dir", bad, "--out", path.join(dir, "out")]),
      run(["status"], { PROCMAN_STATE_DIR: bad }),
    ]);
    for (const result of runs) assertRefused(result, "the state dir must not contain control characters");
    assert.equal(readdirSync(dir), ["model.json"], "nothing written");
  });
});

test("other path options given empty: exit 2 naming the option", async () => {
  await withHome(async ({ dir, model, run }) => {
    const stateDir = path.join(dir, "explicit");
    const cases: [string[], string][] = [
      [["generate", model, "-P", "systemd", "--out", ""], "--out <dir>"],
      [["startup", "-P", "systemd", "--state-dir", stateDir, "--out", ""], "--out <dir>"],
      [["startup", "-P", "systemd", "--state-dir", stateDir, "--install", "--root", ""], "--root <dir>"],
      [["visualize", model, "-o", ""], "-o, --output <file>"],
      [["switch", model, "-P", "systemd", "--state-dir", stateDir, "--install-dir", ""], "--install-dir <dir>"],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args)));
    runs.forEach((result, index) => assertRefused(result, `option '${cases[index]![1]}' argument '' is invalid`));
    assert.equal(readdirSync(dir), ["model.json"], "nothing written");
  });
});

test('--lock-timeout "" is no "do not wait" (Number("") is 0): exit 2, for switch, stop and up', async () => {
  await withHome(async ({ dir, model, run }) => {
    const stateDir = path.join(dir, "explicit");
    const runs = await Promise.all([
      run(["switch", model, "--state-dir", stateDir, "--lock-timeout", ""]),
      run(["stop", "--state-dir", stateDir], { PROCMAN_LOCK_TIMEOUT: "" }),
      run(["up", model, "--state-dir", stateDir, "--lock-timeout", ""]),
      run(["up", model, "--state-dir", stateDir, "--lock-timeout", "soon"]),
    ]);
    for (const result of runs) assertRefused(result, /--lock-timeout must be a number of seconds, 0 or more \(got "(soon)?"\)/);
    assert.not.ok(existsSync(stateDir), "nothing deployed");
  });
});

test.run();
