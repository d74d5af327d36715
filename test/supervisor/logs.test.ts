// procman logs: tails across rotated files, names marking each line, a bounded read-back that says
// when it stopped, symlinked logs refused, and -f interleaving appended lines across a rotation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LogFollower, MAX_LINE, readTail } from "../../src/supervisor/log-reader.js";
import { runMain } from "../../src/cli/main.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { createContext } from "../../src/model/context.js";
import { rotateIfNeeded } from "../../src/supervisor/rotate.js";
import { startProcman, stateDir, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { processSpec } from "./helpers.js";

function deployed(names: readonly string[]): { dir: string; logs: Map<string, string> } {
  const dir = stateDir();
  const state = new StateDir(dir);
  state.ensure();
  const specs = names.map((name) => processSpec(dir, name, {}));
  const generation = state.writeGeneration({ context: createContext({ stateDir: dir, modelDir: dir }), processes: specs }, "direct", undefined);
  state.setCurrent({ generation, active: true });
  mkdirSync(path.join(dir, "log"), { recursive: true });
  return { dir, logs: new Map(specs.map((spec) => [spec.name, spec.logFile])) };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runMain(args, { out: (text) => void (out += text), err: (text) => void (err += text), colour: false });
  return { code, out, err };
}

test("readTail joins rotated files (a line cut by rotation is whole again)", () => {
  const dir = makeTempDir("procman-logs-");
  const log = path.join(dir, "a.log");
  writeFileSync(`${log}.2`, "one\ntwo\n");
  writeFileSync(`${log}.1`, "three\nfo");
  writeFileSync(log, "ur\nfive\n");
  assert.equal(readTail(log, 4, 1 << 20).lines, ["two", "three", "four", "five"]);
  assert.equal(readTail(log, 100, 1 << 20).lines, ["one", "two", "three", "four", "five"]);
  assert.equal(readTail(log, 100, 1 << 20).warnings, []);
  assert.equal(readTail(log, 0, 1 << 20).lines, []);
});

test("readTail is bounded: it says that it stopped reading back", () => {
  const dir = makeTempDir("procman-logs-");
  const log = path.join(dir, "b.log");
  writeFileSync(log, `${"z".repeat(300_000)}\nlast\n`);
  const tail = readTail(log, 5, 100_000);
  assert.equal(tail.lines, ["last"]);
  assert.match(tail.warnings.join(""), "stopped reading back after 100000 bytes");
});

// A service that writes without ever ending its line (or leaves a sparse log's hole) must not
// make the follower hold all of it: past MAX_LINE bytes the line comes in pieces, none cut inside
// a character, and a line that does end comes whole as before.
test("LogFollower holds back at most MAX_LINE bytes of a line that never ends", () => {
  const dir = makeTempDir("procman-logs-");
  const log = path.join(dir, "c.log");
  writeFileSync(log, "first\n");
  const follower = new LogFollower(log, 0, undefined);
  assert.equal(follower.poll(), ["first"]);
  // 3-byte characters, so that MAX_LINE falls inside one.
  const endless = "€".repeat(Math.ceil((3 * MAX_LINE + 10) / 3));
  appendFileSync(log, endless);
  const pieces: string[] = [];
  for (let round = 0; round < 20; round++) pieces.push(...follower.poll());
  assert.ok(pieces.length >= 3, `${pieces.length} pieces`);
  for (const piece of pieces) {
    assert.ok(Buffer.byteLength(piece) <= MAX_LINE, "a piece longer than MAX_LINE");
    assert.not.match(piece, "\ufffd", "a character cut in two");
  }
  const held = (follower as unknown as { partial: Buffer }).partial;
  assert.ok(held.length <= MAX_LINE, `${held.length} bytes held back`);
  appendFileSync(log, "\nnext\n");
  const after = follower.poll();
  assert.equal(pieces.join("") + after[0], endless, "nothing lost or repeated");
  assert.equal(after.slice(1), ["next"]);
});

test("logs: no name marks each line with its process; one name prints it plain; unknown names exit 2", async () => {
  const { dir, logs } = deployed(["web", "db"]);
  writeFileSync(logs.get("web")!, "w1\nw2\nw3\n");
  writeFileSync(logs.get("db")!, "d1\n");
  const all = await cli(["logs", "--state-dir", dir, "-n", "2"]);
  assert.is(all.code, 0, all.err);
  assert.is(all.out, "web | w2\nweb | w3\ndb  | d1\n");
  const one = await cli(["logs", "web", "--state-dir", dir, "-n", "1"]);
  assert.is(one.out, "w3\n");
  const two = await cli(["logs", "db", "web", "--state-dir", dir, "-n", "1"]);
  assert.is(two.out, "db  | d1\nweb | w3\n");
  const unknown = await cli(["logs", "nope", "--state-dir", dir]);
  assert.is(unknown.code, 2);
  assert.match(unknown.err, 'no process "nope" in the deployed generation (known: web, db)');
});

test("logs: a log replaced by a symlink is not followed (the service may have planted it)", async () => {
  const { dir, logs } = deployed(["evil"]);
  const secret = path.join(dir, "secret");
  writeFileSync(secret, "root-only secret\n");
  symlinkSync(secret, logs.get("evil")!);
  const result = await cli(["logs", "evil", "--state-dir", dir]);
  assert.is(result.out, "");
  assert.match(result.err, "is a symbolic link; not followed");
});

test("logs -f: appended lines of every process, marked, also across a collapse-range rotation", async () => {
  const { dir, logs } = deployed(["web", "db"]);
  writeFileSync(logs.get("web")!, "old\n");
  writeFileSync(logs.get("db")!, "");
  const run = startProcman(["logs", "-f", "--state-dir", dir, "-n", "1"]);
  try {
    await waitFor(() => run.output().includes("web | old\n"), 10_000, "the tail");
    appendFileSync(logs.get("db")!, "db says hi\n");
    await waitFor(() => run.output().includes("db  | db says hi\n"), 10_000, "db's new line");
    appendFileSync(logs.get("web")!, `${"filler\n".repeat(3000)}web after\n`);
    await waitFor(() => run.output().includes("web | web after\n"), 10_000, "web's new lines");
    // Rotate (the cut prefix goes to web.log.1), then append: shown once, nothing repeated.
    assert.not.equal(await rotateIfNeeded(logs.get("web")!, 4096, 3), "none");
    appendFileSync(logs.get("web")!, "after rotation\n");
    await waitFor(() => run.output().includes("web | after rotation\n"), 10_000, "the line after the rotation");
    assert.is(run.output().split("web | web after\n").length, 2, "nothing printed twice");
  } finally {
    run.child.kill("SIGTERM");
    await run.done;
  }
});

test.run();
