// procman's own records: process records, generations, the current pointer, the journal and the
// lock, on a real temp dir; plus the atomic write they all rely on.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, symlinkSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileAtomic } from "../../src/executor/atomic.js";
import { LockedError, STATE_LAYOUT, StateDir } from "../../src/executor/state-dir.js";
import { UntrustedDirError, setTrustWarningSink } from "../../src/executor/dir-trust.js";
import { ProcmanError, StateFileError } from "../../src/errors.js";
import { resolve } from "../helpers/model.js";
import { ROOT } from "../helpers/paths.js";
import { record } from "../helpers/records.js";
import { makeTempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/processes.js";


/** The layout before the records log: one file per record, still read while no snapshot exists. */
function legacyDir(state: StateDir): string {
  const dir = path.join(state.lib, "processes");
  mkdirSync(dir, { recursive: true });
  return dir;
}

test("the layout is stateDir/lib/procman/{records.log,generations}; no directory of records", () => {
  const dir = makeTempDir();
  const state = new StateDir(dir);
  state.ensure();
  assert.is(state.lib, path.join(dir, "lib", "procman"));
  assert.not.ok(existsSync(path.join(dir, "lib", "procman", "processes")));
  assert.ok(statSync(path.join(dir, "lib", "procman", "generations")).isDirectory());
});

test("process records: written, read back by name, removed; temp files are not records", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  assert.equal([...state.readRecords().keys()], []);
  state.writeRecord(record("web", 11));
  state.writeRecord(record("db", 12));
  // What a writer killed mid-write leaves behind: a hidden temp file. Not a record.
  writeFileSync(path.join(legacyDir(state), ".web.json.999.abc.tmp"), "{ half");
  writeFileSync(path.join(state.lib, "processes", "notes.txt"), "not json");
  const records = state.readRecords();
  assert.equal([...records.keys()].sort(), ["db", "web"]);
  assert.equal(records.get("web"), record("web", 11));
  const lines = readFileSync(path.join(state.lib, "records.log"), "utf8").trimEnd().split("\n");
  assert.equal(JSON.parse(lines[2]!.slice(9)), { layout: 1, put: record("db", 12) }, "one line per change: CRC32, space, JSON");
  state.writeRecord(record("web", 21));
  assert.is(state.readRecords().get("web")!.pid, 21, "rewritten in place");
  state.removeRecord("web");
  state.removeRecord("never-there");
  assert.equal([...state.readRecords().keys()], ["db"]);
});

test("removeRecords: several removals in one append, each its own checked line", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  for (const name of ["a", "b", "c", "d"]) state.writeRecord(record(name));
  const before = readFileSync(path.join(state.lib, "records.log"), "utf8").split("\n").length;
  state.removeRecords(["a", "c", "never-there"]);
  state.removeRecords([]);
  assert.equal([...state.readRecords().keys()].sort(), ["b", "d"]);
  const lines = readFileSync(path.join(state.lib, "records.log"), "utf8").trimEnd().split("\n");
  assert.is(lines.length, before - 1 + 3, "one line per removal");
  assert.equal(JSON.parse(lines.at(-1)!.slice(9)), { layout: 1, del: "never-there" });
  assert.equal([...new StateDir(state.stateDir).readRecords().keys()].sort(), ["b", "d"], "a fresh reader replays them");
});

test("a generation stores the spec hash of each process", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const model = resolve({ web: { process: "/bin/sleep", args: ["1"] } });
  const generation = state.readGeneration(state.writeGeneration(model, "direct", undefined));
  assert.equal(Object.keys(generation.specHashes ?? {}), ["web"]);
  assert.match(generation.specHashes!.web!, /^[0-9a-f]{32}$/);
});

test("a corrupt record is an error naming the file (exit 1), not silently ignored", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const file = path.join(legacyDir(state), "web.json");
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

// ---- damaged files: named, never a TypeError; the lenient readers still return what is good ----

const damagedCases: [string, string, RegExp][] = [
  ["truncated", '{ "name": "web", "pid": 12', /unreadable record .*truncated, or not written by procman/],
  ["empty", "", /empty \(truncated\?\)/],
  ["{}", "{}", /not a valid record: "name" is missing, "pid" is missing/],
  ["wrong types", JSON.stringify({ ...record("web"), pid: "12", mode: 7 }), /"pid" is not a PID, "mode" is not "foreground" or "daemon"/],
  ["an array", "[1, 2]", /not a JSON object/],
  ["a newer layout", JSON.stringify({ layout: 99, ...record("web") }), /written by a newer procman \(layout 99/],
  ["another name", JSON.stringify(record("db")), /names process "db", not "web"/],
];

for (const [what, text, problem] of damagedCases) {
  test(`a ${what} process record: readRecords names the file; readRecordsLenient returns the good ones and the damaged file`, () => {
    const state = new StateDir(makeTempDir());
    state.ensure();
    state.writeRecord(record("api", 7));
    const file = path.join(legacyDir(state), "web.json");
    writeFileSync(file, text);
    try {
      state.readRecords();
      assert.unreachable("a damaged record was accepted");
    } catch (error) {
      assert.instance(error, StateFileError);
      assert.is((error as ProcmanError).code, "ESTATE");
      assert.is((error as ProcmanError).exitCode, 1);
      assert.ok((error as Error).message.startsWith(`${file}: `), (error as Error).message);
      assert.match((error as Error).message, problem);
    }
    const lenient = state.readRecordsLenient();
    assert.equal([...lenient.records.keys()], ["api"]);
    assert.is(lenient.damaged.length, 1);
    assert.is(lenient.damaged[0]!.file, file);
    assert.match(lenient.damaged[0]!.problem, problem);
  });
}

test("records written before layout versions (no layout field) are still read", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  writeFileSync(path.join(legacyDir(state), "web.json"), JSON.stringify(record("web")));
  assert.equal(state.readRecords().get("web"), record("web"));
});

test("every state file carries the layout version", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  state.writeRecord(record("web"));
  state.setCurrent({ generation: state.writeGeneration(resolve({ a: { process: "/bin/true" } }), "direct", undefined), active: true });
  state.writeJournal({ pid: 1, startTime: "1", startedAt: "now", command: "switch" });
  for (const line of readFileSync(path.join(state.lib, "records.log"), "utf8").trimEnd().split("\n")) assert.is(JSON.parse(line.slice(9)).layout, STATE_LAYOUT);
  for (const file of ["generations/1.json", "current.json", "journal.json"]) {
    assert.is(JSON.parse(readFileSync(path.join(state.lib, file), "utf8")).layout, STATE_LAYOUT, file);
  }
});

test("current.json damaged ({} or truncated): readCurrent names it; readDeployed reports it without throwing", () => {
  for (const text of ["{}", '{"generation": 1, "act', JSON.stringify({ generation: "1", active: true })]) {
    const state = new StateDir(makeTempDir());
    state.ensure();
    const file = path.join(state.lib, "current.json");
    writeFileSync(file, text);
    assert.throws(() => state.readCurrent(), (error: Error) => error instanceof StateFileError && error.message.startsWith(`${file}: `));
    const deployed = state.readDeployed();
    assert.is(deployed.current, undefined);
    assert.is(deployed.generation, undefined);
    assert.equal(deployed.damaged.map((damaged) => damaged.file), [file], text);
  }
});

test("current.json naming a missing generation: readGeneration names the file; readDeployed keeps the pointer and says what is missing", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  state.setCurrent({ generation: 4, active: true });
  const file = path.join(state.lib, "generations", "4.json");
  assert.throws(() => state.readGeneration(4), (error: Error) => error instanceof StateFileError && error.message === `${file}: generation 4 is missing`);
  const deployed = state.readDeployed();
  assert.equal(deployed.current, { generation: 4, active: true });
  assert.is(deployed.generation, undefined);
  assert.is(deployed.damaged.length, 1);
  assert.is(deployed.damaged[0]!.file, file);
  assert.match(deployed.damaged[0]!.problem, "names generation 4");
});

// A review: a generation written ahead by a killed switch was listed and could be rolled back to.
test("a generation the journal names and the pointer does not is pending: not listed, its number taken again", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const one = resolve({ a: { process: "/bin/true" } });
  state.setCurrent({ generation: state.writeGeneration(one, "direct", undefined), active: true });
  const journal = { pid: process.pid, startTime: "1", startedAt: new Date().toISOString(), command: "switch" };
  state.writeJournal({ ...journal, generation: 2 });
  assert.is(state.writeGeneration(one, "direct", undefined, undefined, undefined, undefined, undefined, 2), 2);
  assert.equal(state.listGenerations(), [1]);
  assert.is(state.nextGeneration(), 2);
  state.setCurrent({ generation: 2, active: true });
  assert.equal(state.listGenerations(), [1, 2]);
  state.clearJournal();
  assert.equal(state.listGenerations(), [1, 2]);
  state.writeJournal({ ...journal, generation: -1 });
  assert.throws(() => state.readJournal(), /generation: not a generation number/);
});

test("a damaged generation: {} , the wrong number inside, a model without processes", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const one = resolve({ a: { process: "/bin/true" } });
  state.writeGeneration(one, "direct", undefined);
  const file = path.join(state.lib, "generations", "1.json");
  const good = JSON.parse(readFileSync(file, "utf8"));
  const cases: [unknown, RegExp][] = [
    [{}, /"generation" is missing/],
    [{ ...good, generation: 2 }, /"generation" is not 1 \(the file's number\)/],
    [{ ...good, model: { context: {}, processes: {} } }, /"model.processes" is not a list/],
    [{ ...good, processManager: "runit" }, /"processManager" is not one of direct/],
  ];
  for (const [value, problem] of cases) {
    writeFileSync(file, JSON.stringify(value));
    const read = state.inspectGeneration(1);
    assert.is(read.kind, "damaged");
    assert.match(read.kind === "damaged" ? read.damaged.problem : "", problem);
    assert.throws(() => state.readGeneration(1), (error: Error) => error instanceof StateFileError && problem.test(error.message));
  }
});

test("a FIFO or a symbolic link in place of a state file is damaged, not read (no hang)", () => {
  const state = new StateDir(makeTempDir());
  state.ensure();
  const fifo = path.join(state.lib, "current.json");
  assert.is(spawnSync("mkfifo", [fifo]).status, 0);
  const read = state.inspectCurrent();
  assert.is(read.kind, "damaged");
  assert.match(read.kind === "damaged" ? read.damaged.problem : "", "not a regular file");
  symlinkSync("/dev/zero", path.join(state.lib, "journal.json"));
  assert.throws(() => state.readJournal(), /journal\.json: is a symbolic link/);
});

// ---- modes ----

const modeOf = (file: string) => lstatSync(file).mode & 0o7777;

test("lib/procman is 0700 and its files 0600; what an older version left 0755/0644 is tightened on first use", () => {
  const dir = makeTempDir();
  const lib = path.join(dir, "lib", "procman");
  // As an older procman left it.
  mkdirSync(path.join(lib, "generations"), { recursive: true, mode: 0o755 });
  mkdirSync(path.join(lib, "sysvinit"), { recursive: true, mode: 0o755 });
  chmodSync(lib, 0o755);
  writeFileSync(path.join(lib, "generations", "1.json"), "{}", { mode: 0o644 });
  writeFileSync(path.join(lib, "sysvinit", "procman-web"), "#!/bin/sh\n", { mode: 0o755 });
  symlinkSync("/etc/hostname", path.join(lib, "link"));
  const state = new StateDir(dir);
  state.ensure();
  assert.is(modeOf(lib), 0o700);
  assert.is(modeOf(path.join(lib, "generations")), 0o700);
  assert.is(modeOf(path.join(lib, "sysvinit")), 0o700);
  assert.is(modeOf(path.join(lib, "generations", "1.json")), 0o600);
  assert.is(modeOf(path.join(lib, "sysvinit", "procman-web")), 0o700, "executables keep their x bit, for the owner only");
  assert.is(modeOf("/etc/hostname") & 0o044, 0o044, "a symlink's target is not touched");
  assert.is(modeOf(path.join(dir, "lib")) & 0o755, 0o755, "stateDir/lib stays traversable for services' own stateDirectory");
  state.writeRecord(record("web"));
  state.setCurrent({ generation: state.writeGeneration(resolve({ a: { process: "/bin/true" } }), "direct", undefined), active: true });
  for (const file of ["records.log", "generations/2.json", "current.json"]) assert.is(modeOf(path.join(lib, file)), 0o600, file);
});

// ---- who may change the state dir ----

function expectUntrusted(dir: string, part: string | RegExp): void {
  try {
    new StateDir(dir).ensure();
    assert.unreachable(`${dir} was trusted`);
  } catch (error) {
    assert.instance(error, UntrustedDirError);
    assert.is((error as ProcmanError).exitCode, 2);
    assert.match((error as Error).message, part);
  }
}

const NOBODY = 65534;
const root = process.getuid?.() === 0;

test("dir trust: a state dir owned by another user is refused (exit 2)", () => {
  if (!root) return console.log("  SKIP dir trust owner: needs root to chown");
  const dir = makeTempDir();
  chownSync(dir, NOBODY, NOBODY);
  expectUntrusted(dir, `belongs to uid ${NOBODY}`);
});

test("dir trust: a run or log dir owned by another user is refused too", () => {
  if (!root) return console.log("  SKIP dir trust run/log: needs root to chown");
  for (const sub of ["run", "log"]) {
    const dir = makeTempDir();
    mkdirSync(path.join(dir, sub));
    chownSync(path.join(dir, sub), NOBODY, NOBODY);
    expectUntrusted(dir, `${path.join(dir, sub)}: it belongs to uid ${NOBODY}`);
  }
});

test("dir trust: writable by others without the sticky bit is refused; with it, it is not", () => {
  const dir = makeTempDir();
  chmodSync(dir, 0o777);
  expectUntrusted(dir, "any user may write it");
  chmodSync(dir, 0o1777);
  new StateDir(dir).ensure();
});

test("dir trust: an ancestor others may write (no sticky bit) is refused; /tmp/x is fine", () => {
  const open = makeTempDir();
  chmodSync(open, 0o777);
  expectUntrusted(path.join(open, "deep", "state"), `${open}: any user may write it`);
  // makeTempDir is under /tmp (sticky, 1777): accepted.
  new StateDir(path.join(makeTempDir(), "state")).ensure();
});

// The owner of a directory can rename what is in it: a copy of the state dir with forged records
// swapped in between two of procman's reads would make it signal what they name.
test("dir trust: an ancestor owned by another user is refused, however closed its mode", () => {
  if (!root) return console.log("  SKIP dir trust ancestor owner: needs root to chown");
  const home = makeTempDir();
  chmodSync(home, 0o755);
  chownSync(home, NOBODY, NOBODY);
  expectUntrusted(path.join(home, "state"), `${home}: it belongs to uid ${NOBODY}, who can replace what lies in it`);
  mkdirSync(path.join(home, "state"));
  expectUntrusted(path.join(home, "state"), `${home}: it belongs to uid ${NOBODY}`);
});

test("dir trust: group-writable earns one warning", () => {
  const dir = makeTempDir();
  chmodSync(dir, 0o770);
  const warnings: string[] = [];
  setTrustWarningSink((message) => warnings.push(message));
  new StateDir(dir).ensure();
  new StateDir(dir).ensure();
  assert.equal(warnings, [`${dir} is writable by its group (gid ${statSync(dir).gid}): its members can change what procman reads there`]);
});

test("dir trust: symbolic links are followed when root or procman's user owns them, refused otherwise", () => {
  const base = makeTempDir();
  const real = path.join(base, "real");
  mkdirSync(real);
  const link = path.join(base, "link");
  symlinkSync(real, link);
  new StateDir(link).ensure();
  assert.ok(existsSync(path.join(real, "lib", "procman")), "followed");
  if (!root) return console.log("  SKIP dir trust foreign link: needs root to lchown");
  const foreign = path.join(base, "foreign");
  symlinkSync(real, foreign);
  lchownSync(foreign, NOBODY, NOBODY);
  expectUntrusted(foreign, `the symbolic link ${foreign} belongs to uid ${NOBODY}`);
});

test("dir trust: reading checks too (status must not act on a state dir someone else controls)", () => {
  const dir = makeTempDir();
  chmodSync(dir, 0o777);
  assert.throws(() => new StateDir(dir).readDeployed(), (error: Error) => error instanceof UntrustedDirError);
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

// ---- the lock against other processes ----

const STATE_DIR_TS = path.join(ROOT, "src", "executor", "state-dir.ts");

interface Holder {
  readonly child: ChildProcess;
  /** Sends a line to the holder and waits for its one-line answer. */
  ask(command: string): Promise<string>;
}

/** A separate node process that takes the lock and answers "held?" and "release" on stdin. */
async function startHolder(dir: string): Promise<Holder> {
  const child = spawn(process.execPath, ["--import", "tsx", "-e", `
    import(${JSON.stringify(STATE_DIR_TS)}).then(async ({ StateDir }) => {
      const release = await new StateDir(${JSON.stringify(dir)}).lock(0);
      console.log("locked");
      let buffered = "";
      process.stdin.on("data", async (data) => {
        buffered += data;
        while (buffered.includes("\\n")) {
          const line = buffered.slice(0, buffered.indexOf("\\n"));
          buffered = buffered.slice(line.length + 1);
          if (line === "held?") console.log(String(release.isHeld()) + " " + String(release.signal.aborted));
          if (line === "release") { await release(); console.log("released"); }
          if (line.startsWith("block ")) { console.log("blocking"); const until = Date.now() + Number(line.slice(6)); while (Date.now() < until) {} console.log("unblocked"); }
        }
      });
    });`], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let rest = "";
  child.stdout!.on("data", (data) => {
    rest += String(data);
    for (let at = rest.indexOf("\n"); at >= 0; at = rest.indexOf("\n")) {
      const line = rest.slice(0, at);
      rest = rest.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise<string>((resolve, reject) => {
    const line = lines.shift();
    if (line !== undefined) return resolve(line);
    waiters.push(resolve);
    child.once("exit", (code) => reject(new Error(`the holder exited (${code})`)));
  });
  assert.is(await next(), "locked");
  return {
    child,
    ask: (command) => {
      child.stdin!.write(`${command}\n`);
      return next();
    },
  };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
}

async function expectLocked(dir: string, seconds: number, why: string): Promise<void> {
  try {
    const release = await new StateDir(dir).lock(seconds);
    await release();
    assert.unreachable(why);
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
  }
}

test("lock: another process holding it blocks this one too, and the message names its PID", async () => {
  const dir = makeTempDir();
  const holder = await startHolder(dir);
  try {
    try {
      await new StateDir(dir).lock(0.3);
      assert.unreachable("the lock of another process was ignored");
    } catch (error) {
      assert.instance(error, LockedError);
      assert.match((error as Error).message, `(held by PID ${holder.child.pid})`);
    }
  } finally {
    holder.child.kill("SIGKILL");
  }
});

test("lock: a holder stopped with SIGSTOP, or whose event loop blocks, for longer than any refresh interval keeps its lock", async () => {
  const stoppedDir = makeTempDir();
  const blockedDir = makeTempDir();
  const [stopped, blocked] = await Promise.all([startHolder(stoppedDir), startHolder(blockedDir)]);
  try {
    stopped.child.kill("SIGSTOP");
    assert.is(await blocked.ask("block 8000"), "blocking");
    // proper-lockfile called a lock stale after 5 s without a refresh; neither holder refreshes anything now.
    await Promise.all([
      expectLocked(stoppedDir, 6.5, "the lock of a stopped, live holder was taken over"),
      expectLocked(blockedDir, 6.5, "the lock of a live holder with a blocked event loop was taken over"),
    ]);
    stopped.child.kill("SIGCONT");
    assert.is(await stopped.ask("held?"), "true false", "the holder still holds its lock and was not told otherwise");
    assert.is(await stopped.ask("release"), "released");
    const release = await new StateDir(stoppedDir).lock(0);
    await release();
  } finally {
    stopped.child.kill("SIGKILL");
    blocked.child.kill("SIGKILL");
  }
});

test("lock: a holder killed with SIGKILL loses its lock at once", async () => {
  const dir = makeTempDir();
  const holder = await startHolder(dir);
  holder.child.kill("SIGKILL");
  await exited(holder.child);
  // No staleness period to wait out: the owner is dead, and its lock is taken within the 1 s wait.
  const release = await new StateDir(dir).lock(1);
  assert.ok(release.isHeld());
  await release();
  assert.not.ok(existsSync(path.join(dir, "lib", "procman", "lock")), "released: the lock file is gone");
});

/** A lock file as a procman would leave it; the owner fields say who. */
function plantLock(dir: string, owner: Record<string, unknown>): string {
  const state = new StateDir(dir);
  state.ensure();
  const file = path.join(state.lib, "lock");
  writeFileSync(file, JSON.stringify({ token: "planted", acquiredAt: new Date(0).toISOString(), ...owner }));
  return file;
}

const ownNamespace = () => readlinkSync("/proc/self/ns/pid");

test("lock: an owner whose PID now names another process (start time differs) is dead", async () => {
  const dir = makeTempDir();
  plantLock(dir, { pid: process.pid, startTime: "1", pidNamespace: ownNamespace() });
  const release = await new StateDir(dir).lock(0);
  await release();
});

test("lock: an owner in another PID namespace cannot be checked from here and counts as alive", async () => {
  const dir = makeTempDir();
  const dead = spawnSync("true").pid!;
  plantLock(dir, { pid: dead, startTime: "1", pidNamespace: "pid:[1]" });
  await expectLocked(dir, 0.3, "the lock of a holder in another PID namespace was taken");
  // The same owner in this namespace is dead (its PID is gone).
  plantLock(dir, { pid: dead, startTime: "1", pidNamespace: ownNamespace() });
  const release = await new StateDir(dir).lock(0);
  await release();
});

test("lock: a dead owner's lock is taken over by exactly one of many waiters at a time", async () => {
  const dir = makeTempDir();
  const dead = spawnSync("true").pid!;
  plantLock(dir, { pid: dead, startTime: "1", pidNamespace: ownNamespace() });
  const log = path.join(makeTempDir(), "log");
  writeFileSync(log, "");
  const racers = Array.from({ length: 6 }, () =>
    spawn(process.execPath, ["--import", "tsx", "-e", `
      import { appendFileSync } from "node:fs";
      import(${JSON.stringify(STATE_DIR_TS)}).then(async ({ StateDir }) => {
        const release = await new StateDir(${JSON.stringify(dir)}).lock(60);
        appendFileSync(${JSON.stringify(log)}, "in " + process.pid + "\\n");
        await new Promise((resolve) => setTimeout(resolve, 100));
        appendFileSync(${JSON.stringify(log)}, "out " + process.pid + "\\n");
        await release();
      });`], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  await Promise.all(racers.map(exited));
  const lines = readFileSync(log, "utf8").trim().split("\n");
  assert.is(lines.length, 12, lines.join("\n"));
  for (let i = 0; i < lines.length; i += 2) {
    const [kind, pid] = lines[i]!.split(" ");
    assert.is(kind, "in", lines.join("\n"));
    assert.is(lines[i + 1], `out ${pid}`, `two holders at once:\n${lines.join("\n")}`);
  }
  assert.equal(readdirSync(path.join(dir, "lib", "procman")).filter((entry) => entry.includes("lock")), [], "no lock, takeover or owner file left");
});

test("lock: proper-lockfile's directory from an older procman is waited on while fresh, taken once stale", async () => {
  const dir = makeTempDir();
  const state = new StateDir(dir);
  state.ensure();
  const legacy = path.join(state.lib, "lock");
  mkdirSync(legacy);
  await expectLocked(dir, 0.2, "a fresh legacy lock was ignored");
  const old = new Date(Date.now() - 60_000);
  utimesSync(legacy, old, old);
  const release = await new StateDir(dir).lock(0);
  assert.ok(statSync(legacy).isFile(), "replaced by an owner record");
  await release();
});

test("lock: the holder learns that it lost the lock (isHeld, signal)", async () => {
  const dir = makeTempDir();
  const release = await new StateDir(dir).lock(0);
  assert.ok(release.isHeld());
  assert.not.ok(release.signal.aborted);
  rmSync(path.join(dir, "lib", "procman", "lock"));
  assert.not.ok(release.isHeld());
  await waitFor(() => release.signal.aborted, 5000, "the abort signal");
  assert.is((release.signal.reason as ProcmanError).code, "ELOCKLOST");
  // Someone else's lock is not removed by the late release.
  const other = await new StateDir(dir).lock(0);
  await release();
  assert.ok(other.isHeld(), "releasing a lost lock freed another holder's");
  await other();
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
