// An empty --state-dir (or other path) is what an unset shell variable gives: `--state-dir "$DIR"`.
// It must be refused (exit 2), never taken as the default state dir (/var for root) or the cwd.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { procman, show, type CliRun } from "../helpers/cli.js";
import { writeJson } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

function assertRefused(run: CliRun, message: string | RegExp): void {
  assert.is(run.code, 2, show(run));
  assert.match(run.stderr, message, show(run));
  assert.not.match(run.stderr, "internal error", show(run));
}

/** A fallback state dir that must stay untouched, and a model to give commands. */
function setup(): { home: string; env: Record<string, string>; model: string } {
  const home = makeTempDir();
  const model = writeJson(path.join(home, "model.json"), { web: { foregroundProcess: "/bin/sleep", args: ["600"] } });
  return { home, env: { HOME: home, XDG_STATE_HOME: path.join(home, "state") }, model };
}

test('--state-dir "": every command that takes it exits 2 and creates no state dir', async () => {
  const { home, env, model } = setup();
  const commands = [
    ["switch", model],
    ["up", model],
    ["validate", model],
    ["generate", model, "-P", "systemd", "--out", path.join(home, "out")],
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
  const runs = await Promise.all(commands.map((args) => procman([...args, "--state-dir", ""], { env, cwd: home })));
  runs.forEach((run) => assertRefused(run, /--state-dir <dir>' argument '' is invalid\. must not be empty/));
  assert.not.ok(existsSync(path.join(home, "state")), "no default state dir");
  assert.equal(readdirSync(home).sort(), ["model.json"], "nothing written to the working directory");
});

test("PROCMAN_STATE_DIR set but empty: exit 2 naming it", async () => {
  const { home, env } = setup();
  const run = await procman(["status"], { env: { ...env, PROCMAN_STATE_DIR: "" }, cwd: home });
  assertRefused(run, "PROCMAN_STATE_DIR is set but empty");
  assert.not.ok(existsSync(path.join(home, "state")));
});

test("other path options given empty: exit 2 naming the option", async () => {
  const { home, env, model } = setup();
  const stateDir = path.join(home, "explicit");
  const cases: [string[], string][] = [
    [["generate", model, "-P", "systemd", "--out", ""], "--out <dir>"],
    [["startup", "-P", "systemd", "--state-dir", stateDir, "--out", ""], "--out <dir>"],
    [["startup", "-P", "systemd", "--state-dir", stateDir, "--install", "--root", ""], "--root <dir>"],
    [["visualize", model, "-o", ""], "-o, --output <file>"],
    [["switch", model, "-P", "systemd", "--state-dir", stateDir, "--install-dir", ""], "--install-dir <dir>"],
  ];
  const runs = await Promise.all(cases.map(([args]) => procman(args, { env, cwd: home })));
  runs.forEach((run, index) => assertRefused(run, `option '${cases[index]![1]}' argument '' is invalid`));
  assert.equal(readdirSync(home).sort(), ["model.json"], "nothing written");
});

test('--lock-timeout "" is no "do not wait" (Number("") is 0): exit 2, for switch, stop and up', async () => {
  const { home, env, model } = setup();
  const stateDir = path.join(home, "explicit");
  const runs = await Promise.all([
    procman(["switch", model, "--state-dir", stateDir, "--lock-timeout", ""], { env, cwd: home }),
    procman(["stop", "--state-dir", stateDir], { env: { ...env, PROCMAN_LOCK_TIMEOUT: "" }, cwd: home }),
    procman(["up", model, "--state-dir", stateDir, "--lock-timeout", ""], { env, cwd: home }),
    procman(["up", model, "--state-dir", stateDir, "--lock-timeout", "soon"], { env, cwd: home }),
  ]);
  for (const run of runs) assertRefused(run, /--lock-timeout must be a number of seconds, 0 or more \(got "(soon)?"\)/);
  assert.not.ok(existsSync(stateDir), "nothing deployed");
});

test.run();
