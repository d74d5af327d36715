// procman's own records: process records, generations, the current pointer, the journal and the
// lock, on a real temp dir; plus the atomic write they all rely on.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileAtomic } from "../../src/executor/atomic.js";
import { LockedError, StateDir, type ProcessRecord } from "../../src/executor/state-dir.js";
import { ProcmanError } from "../../src/errors.js";
import { resolve } from "../helpers/model.js";
import { ROOT } from "../helpers/paths.js";
import { makeTempDir } from "../helpers/tmp.js";

const record = (name: string, pid = 1234): ProcessRecord => ({
  name,
  pid,
  startTime: "987654",
  mode: "foreground",
  specHash: "0".repeat(32),
  pidFile: `/run/${name}.pid`,
  stopSignal: "SIGTERM",
  stopTimeout: 10,
  startedAt: new Date(0).toISOString(),
});

test("the layout is stateDir/lib/procman/{processes,generations}", () => {
  const dir = makeTempDir();
  const state = new StateDir(dir);
  state.ensure();
  assert.is(state.lib, path.join(dir, "lib", "procman"));
  assert.ok(statSync(path.join(dir, "lib", "procman", "processes")).isDirectory());
  assert.ok(statSync(path.join(dir, "lib", "procman", "generations")).isDirectory());
});

test("process records: written, read back by name, removed; temp files are not records", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  assert.equal([...state.readRecords().keys()], []);
  state.writeRecord(record("web", 11));
  state.writeRecord(record("db", 12));
  // What a writer killed mid-write leaves behind: a hidden temp file. Not a record.
  writeFileSync(path.join(state.lib, "processes", ".web.json.999.abc.tmp"), "{ half");
  writeFileSync(path.join(state.lib, "processes", "notes.txt"), "not json");
  const records = state.readRecords();
  assert.equal([...records.keys()].sort(), ["db", "web"]);
  assert.equal(records.get("web"), record("web", 11));
  assert.equal(JSON.parse(readFileSync(path.join(state.lib, "processes", "db.json"), "utf8")), { layout: 1, ...record("db", 12) });
  state.writeRecord(record("web", 21));
  assert.is(state.readRecords().get("web")!.pid, 21, "rewritten in place");
  state.removeRecord("web");
  state.removeRecord("never-there");
  assert.equal([...state.readRecords().keys()], ["db"]);
});

test("a corrupt record is an error naming the file (exit 1), not silently ignored", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const file = path.join(state.lib, "processes", "web.json");
  writeFileSync(file, "{ half");
  try {
    state.readRecords();
    assert.unreachable("a corrupt record was accepted");
  } catch (error) {
    assert.instance(error, ProcmanError);
    assert.is((error as ProcmanError).code, "ESTATE");
    assert.is((error as ProcmanError).exitCode, 1);
    assert.match((error as Error).message, file);
  }
});

test("generations are numbered 1, 2, 3 in order; the current pointer is separate", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  assert.equal(state.listGenerations(), []);
  assert.is(state.readCurrent(), undefined);
  const one = resolve({ a: { process: "/bin/true" } });
  const two = resolve({ a: { process: "/bin/true" }, b: { process: "/bin/false" } });
  assert.is(state.writeGeneration(one, "direct", "/models/one.ts"), 1);
  assert.is(state.writeGeneration(two, "direct", undefined), 2);
  assert.is(state.readCurrent(), undefined, "writing a generation does not make it current");
  state.setCurrent({ generation: 2, active: true });
  assert.equal(state.readCurrent(), { generation: 2, active: true });
  assert.equal(state.listGenerations(), [1, 2]);
  const read = state.readGeneration(1);
  assert.is(read.generation, 1);
  assert.is(read.processManager, "direct");
  assert.is(read.modelFile, "/models/one.ts");
  assert.equal(read.model, JSON.parse(JSON.stringify(one)));
  assert.equal(state.readGeneration(2).model.processes.map((process) => process.name), ["a", "b"]);
  // Ten sorts after nine numerically, not as text.
  for (let i = 3; i <= 10; i++) state.writeGeneration(one, "direct", undefined);
  assert.equal(state.listGenerations(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.is(state.writeGeneration(one, "direct", undefined), 11);
});

test("the journal: absent, written, read, cleared", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  assert.is(state.readJournal(), undefined);
  const journal = { pid: 42, startTime: "77", startedAt: new Date(0).toISOString(), command: "switch" };
  state.writeJournal(journal);
  assert.equal(state.readJournal(), journal);
  state.clearJournal();
  assert.is(state.readJournal(), undefined);
  state.clearJournal();
});

test("lock: a second lock waits, then gives up with LockedError (exit 3); after release it is free", async () => {
  const dir = makeTempDir();
  const first = new StateDir(dir);
  const release = await first.lock(0);
  const began = Date.now();
  try {
    await new StateDir(dir).lock(0.4);
    assert.unreachable("locked twice");
  } catch (error) {
    assert.instance(error, LockedError);
    assert.is((error as LockedError).exitCode, 3);
    assert.match((error as Error).message, `the state dir ${dir} is locked by another procman`);
    assert.ok(Date.now() - began >= 400, "it waited");
  }
  await release();
  const again = await new StateDir(dir).lock(0);
  await again();
});

test("lock: a waiter gets the lock as soon as it is released", async () => {
  const dir = makeTempDir();
  const release = await new StateDir(dir).lock(0);
  let acquired = false;
  const waiter = new StateDir(dir).lock(10).then((unlock) => {
    acquired = true;
    return unlock;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.ok(acquired, "it must wait while the lock is held");
  await release();
  const unlock = await waiter;
  assert.ok(acquired);
  await unlock();
});

test("lock: another process holding it blocks this one too", async () => {
  const dir = makeTempDir();
  const lockDir = path.join(dir, "lib", "procman", "lock");
  // A separate node process takes the lock and holds it until it is killed.
  const holder = spawn(process.execPath, ["--import", "tsx", "-e", `
    import(${JSON.stringify(path.join(ROOT, "src", "executor", "state-dir.ts"))}).then(async ({ StateDir }) => {
      await new StateDir(${JSON.stringify(dir)}).lock(0);
      console.log("locked");
      setInterval(() => {}, 1 << 30);
    });`], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve) => holder.stdout!.on("data", (data) => String(data).includes("locked") && resolve()));
    assert.ok(existsSync(lockDir));
    try {
      await new StateDir(dir).lock(0.3);
      assert.unreachable("the lock of another process was ignored");
    } catch (error) {
      assert.instance(error, LockedError);
    }
  } finally {
    holder.kill("SIGKILL");
  }
});

test("writeFileAtomic: the new contents or the old, and no temp file left", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "sub", "record.json");
  writeFileAtomic(file, "one\n");
  assert.is(readFileSync(file, "utf8"), "one\n");
  writeFileAtomic(file, "two\n", 0o600, false);
  assert.is(readFileSync(file, "utf8"), "two\n");
  assert.equal(readdirSync(path.dirname(file)), ["record.json"]);
  // A failing rename (the target is a directory) leaves no temp file and the target untouched.
  const blocked = path.join(dir, "blocked");
  writeFileAtomic(path.join(blocked, "x"), "x");
  assert.throws(() => writeFileAtomic(blocked, "y"));
  assert.equal(readdirSync(dir).sort(), ["blocked", "sub"]);
});

test.run();
