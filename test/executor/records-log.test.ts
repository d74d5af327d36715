// The process records' log and snapshot (records-log.ts behind StateDir): one line per change,
// replay that skips any bad line, a short write truncated back, compaction under the lock, and the
// migration of the old one-file-per-record directory.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StateDir } from "../../src/executor/state-dir.js";
import { MAX_LINE } from "../../src/executor/records-log.js";
import { ROOT } from "../helpers/paths.js";
import { record } from "../helpers/records.js";
import { makeTempDir } from "../helpers/tmp.js";


function fresh(): StateDir {
  const state = new StateDir(makeTempDir());
  state.ensure();
  return state;
}
const logOf = (state: StateDir) => path.join(state.lib, "records.log");

test("each write and removal is one short line appended; nothing else is written", () => {
  const state = fresh();
  for (let i = 0; i < 50; i++) state.writeRecord(record(`p${i}`, 100 + i));
  for (let i = 0; i < 50; i += 2) state.removeRecord(`p${i}`);
  const lines = readFileSync(logOf(state), "utf8").split("\n");
  assert.is(lines.pop(), "", "ends with a newline");
  assert.is(lines.length, 1 + 50 + 25, "a header, then one line per change");
  assert.ok(lines.every((line) => Buffer.byteLength(line) < MAX_LINE));
  assert.equal(readdirSync(state.lib).sort(), ["generations", "records.log"]);
  const records = state.readRecords();
  assert.equal([...records.keys()].sort(), Array.from({ length: 25 }, (_, i) => `p${2 * i + 1}`).sort());
  assert.equal(records.get("p7"), record("p7", 107));
});

test("recordsStamp changes with every write and removal, by any writer", () => {
  const state = fresh();
  const stamps = [state.recordsStamp()];
  state.writeRecord(record("a"));
  stamps.push(state.recordsStamp());
  new StateDir(state.stateDir).removeRecord("a");
  stamps.push(state.recordsStamp());
  assert.is(new Set(stamps).size, 3);
  assert.is(state.recordsStamp(), stamps[2]);
});

test("replay skips any line that fails its checksum, in the middle as well as at the end; a complete one is reported", () => {
  const state = fresh();
  state.writeRecord(record("a", 1));
  state.writeRecord(record("b", 2));
  state.writeRecord(record("c", 3));
  const lines = readFileSync(logOf(state), "utf8").split("\n");
  lines[2] = lines[2]!.replace('"pid":2', '"pid":9'); // b's line: damaged, checksum no longer matches
  writeFileSync(logOf(state), `${lines.join("\n")}{"torn`); // and a torn last line
  const other = new StateDir(state.stateDir);
  const lenient = other.readRecordsLenient();
  assert.equal([...lenient.records.entries()].map(([name, r]) => [name, r.pid]), [["a", 1], ["c", 3]]);
  // b's record may be lost: named (the torn last line is a write in progress, not damage).
  assert.is(lenient.damaged.length, 1);
  assert.match(lenient.damaged[0]!.file, /records\.log \(the line at byte \d+\)$/);
  assert.match(lenient.damaged[0]!.problem, "checksum does not match");
  assert.throws(() => other.readRecords(), /checksum does not match/);
  // A later append is not swallowed by the torn line before it.
  other.writeRecord(record("d", 4));
  assert.equal([...new StateDir(state.stateDir).readRecordsLenient().records.keys()], ["a", "c", "d"]);
});

test("a checksummed line from a newer procman is reported by file and offset, not dropped silently", () => {
  const state = fresh();
  state.writeRecord(record("a", 1));
  const body = JSON.stringify({ layout: 99, put: record("b") });
  writeFileSync(logOf(state), `${crc32(Buffer.from(body)).toString(16).padStart(8, "0")} ${body}\n`, { flag: "a" });
  const lenient = new StateDir(state.stateDir).readRecordsLenient();
  assert.equal([...lenient.records.keys()], ["a"]);
  assert.match(lenient.damaged[0]!.file, /records\.log \(the line at byte \d+\)$/);
  assert.match(lenient.damaged[0]!.problem, /newer procman \(layout 99/);
});

test("a record too large for one line is written whole beside the log, and read back", () => {
  const state = fresh();
  const big = record("hub", 5, { activatesAfter: Array.from({ length: 600 }, (_, i) => `dependency-number-${i}`) });
  state.writeRecord(big);
  state.writeRecord(record("small", 6));
  assert.ok(readFileSync(logOf(state), "utf8").split("\n").every((line) => Buffer.byteLength(line) < MAX_LINE));
  assert.equal(new StateDir(state.stateDir).readRecords().get("hub"), big);
});

test("a short write (a file size limit standing in for a full disk) is truncated back and fails naming the log", () => {
  const state = fresh();
  for (let i = 0; i < 3; i++) state.writeRecord(record(`p${i}`));
  const size = statSync(logOf(state)).size;
  const script = path.join(makeTempDir(), "append.ts");
  writeFileSync(
    script,
    [
      `import { StateDir } from ${JSON.stringify(path.join(ROOT, "src/executor/state-dir.ts"))};`,
      `try { new StateDir(${JSON.stringify(state.stateDir)}).writeRecord(${JSON.stringify(record("big", 7, { activatesAfter: Array.from({ length: 80 }, (_, i) => `d${i}`) }))}); console.log("written"); }`,
      `catch (error) { console.log(error.constructor.name, error.message); }`,
    ].join("\n"),
  );
  // RLIMIT_FSIZE in 512-byte blocks: the line crosses it, so write(2) writes only part of it.
  const limitBlocks = Math.ceil((size + 40) / 512);
  assert.ok(limitBlocks * 512 < size + 500, "the limit falls inside the new line");
  const child = spawnSync("/bin/sh", ["-c", `trap '' XFSZ; ulimit -f ${limitBlocks}; exec "$0" --import tsx "$1"`, process.execPath, script], { encoding: "utf8", cwd: ROOT });
  assert.match(child.stdout, /^FileError cannot write .*records\.log: no space left/m, child.stdout + child.stderr);
  assert.is(statSync(logOf(state)).size, size, "truncated back to where it was");
  state.writeRecord(record("after", 8));
  assert.equal([...new StateDir(state.stateDir).readRecords().keys()], ["p0", "p1", "p2", "after"]);
});

test("the lock compacts: a snapshot by rename, a fresh log; later appends replay on top of it", async () => {
  const state = fresh();
  for (let i = 0; i < 10; i++) state.writeRecord(record(`p${i}`, i + 1));
  state.removeRecord("p3");
  const release = await state.lock(5);
  try {
    const snapshot = JSON.parse(readFileSync(path.join(state.lib, "records.json"), "utf8"));
    assert.is(snapshot.records.length, 9);
    assert.is(readFileSync(logOf(state), "utf8").split("\n").length, 2, "only the header is left");
    state.writeRecord(record("p3", 33));
    state.removeRecord("p4");
  } finally {
    await release();
  }
  const records = new StateDir(state.stateDir).readRecords();
  assert.is(records.size, 9);
  assert.is(records.get("p3")!.pid, 33);
  assert.not.ok(records.has("p4"));
  // The same StateDir reads the new lines incrementally and sees what another writer appended.
  assert.is(state.readRecords().size, 9);
  new StateDir(state.stateDir).writeRecord(record("p4", 44));
  assert.is(state.readRecords().get("p4")!.pid, 44);
});

test("the old processes/ directory is read, then migrated into the snapshot by the first lock", async () => {
  const state = fresh();
  const legacy = path.join(state.lib, "processes");
  mkdirSync(legacy);
  writeFileSync(path.join(legacy, "old.json"), JSON.stringify({ layout: 1, ...record("old", 5) }));
  writeFileSync(path.join(legacy, "gone.json"), JSON.stringify(record("gone", 6)));
  state.removeRecord("gone"); // the log wins over the old files
  state.writeRecord(record("new", 7));
  assert.equal([...state.readRecords().keys()].sort(), ["new", "old"]);
  const release = await state.lock(5);
  await release();
  assert.not.ok(existsSync(legacy), "migrated");
  assert.equal([...new StateDir(state.stateDir).readRecords().keys()].sort(), ["new", "old"]);
});

test("compaction leaves everything as it is while something is damaged", async () => {
  const state = fresh();
  const legacy = path.join(state.lib, "processes");
  mkdirSync(legacy);
  writeFileSync(path.join(legacy, "bad.json"), "{ half");
  state.writeRecord(record("good", 5));
  const release = await state.lock(5);
  await release();
  assert.ok(existsSync(path.join(legacy, "bad.json")));
  assert.not.ok(existsSync(path.join(state.lib, "records.json")));
  assert.equal(new StateDir(state.stateDir).readRecordsLenient().damaged.map((d) => path.basename(d.file)), ["bad.json"]);
});

test.run();
