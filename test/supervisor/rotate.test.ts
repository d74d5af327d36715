// Log rotation: collapse-range on ext4 loses no line while a writer appends (the writer numbers its
// lines; rotation runs as often as it can during the writing, and the check holds however they
// interleave), copy-truncate elsewhere, and the supervisor rotating a process's log by its settings.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { rotateIfNeeded, rotatedName } from "../../src/supervisor/rotate.js";
import { startSupervisor, type SupervisorClient } from "../../src/supervisor/client.js";
import { NODE, stateDir, waitFor } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { haveTool } from "../helpers/tools.js";
import { NUMBERED, deploy, processSpec, teardown } from "./helpers.js";

const TMPFS_MAGIC = 0x01021994;

function allText(file: string): string {
  const rotated = readdirSync(path.dirname(file))
    .map((entry) => /\.log\.([0-9]+)$/.exec(entry)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  return [...rotated.map((n) => readFileSync(rotatedName(file, n), "utf8")), readFileSync(file, "utf8")].join("");
}

test("collapse-range: no line lost or duplicated while the writer appends", async () => {
  if (!haveTool("fallocate", "collapse-range")) return;
  const dir = makeTempDir("procman-rotate-");
  if (statfsSync(dir).type === TMPFS_MAGIC) {
    if (process.env.CI === "true") throw new Error("this test needs a disk file system (ext4/xfs) for collapse-range");
    console.log("  SKIP collapse-range: the temp dir is tmpfs");
    return;
  }
  const log = path.join(dir, "w.log");
  const done = path.join(dir, "done");
  const lines = 60_000;
  const fd = openSync(log, "a");
  const writer = spawn(NODE, [NUMBERED], { env: { LINES: String(lines), BURST: "500", DONE_FILE: done, GO_FILE: path.join(dir, "go") }, stdio: ["ignore", fd, "ignore"] });
  closeSync(fd);
  const lineBytes = (n: number) => `line ${n} ${"x".repeat(60)}\n`.length;
  const streamBytes = () =>
    readdirSync(dir).filter((entry) => entry.startsWith("w.log")).reduce((sum, entry) => sum + statSync(path.join(dir, entry)).size, 0);
  let collapsed = 0;
  let expected = 0;
  try {
    // The writer writes one burst of 500 lines each time the go file allows one more; rotation runs
    // while it writes (however that interleaves) and once after each burst (33 KB > 16 KB: one at least).
    for (let burst = 1; burst * 500 <= lines; burst++) {
      for (let n = (burst - 1) * 500 + 1; n <= burst * 500; n++) expected += lineBytes(n);
      writeFileSync(path.join(dir, "go"), String(burst));
      while (streamBytes() < expected) {
        if ((await rotateIfNeeded(log, 16 * 1024, 10_000)) === "collapsed") collapsed++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if ((await rotateIfNeeded(log, 16 * 1024, 10_000)) === "collapsed") collapsed++;
    }
    await waitFor(() => existsSync(done), 10_000, "the writer done");
  } finally {
    writer.kill("SIGKILL");
  }
  assert.ok(collapsed >= lines / 500, `rotated ${collapsed} times`);
  const numbers = allText(log).split("\n").filter((line) => line !== "").map((line) => Number(/^line ([0-9]+) x+$/.exec(line)?.[1]));
  assert.is(numbers.length, lines, "every line, each once and whole");
  for (let i = 0; i < lines; i++) if (numbers[i] !== i + 1) assert.unreachable(`line ${i + 1} is ${numbers[i]}`);
});

test("keep: only NAME.log.1 … NAME.log.<keep> remain, .1 the newest", async () => {
  const dir = makeTempDir("procman-rotate-");
  const log = path.join(dir, "k.log");
  for (let round = 1; round <= 4; round++) {
    writeFileSync(log, `round ${round}\n`.repeat(2000), { flag: "a" });
    assert.not.equal(await rotateIfNeeded(log, 8192, 2), "none");
  }
  assert.equal(readdirSync(dir).sort(), ["k.log", "k.log.1", "k.log.2"]);
  assert.match(readFileSync(rotatedName(log, 1), "utf8"), "round 4");
  assert.is(await rotateIfNeeded(log, 0, 2), "none", "maxSize 0 never rotates");
});

test("where collapse-range is unsupported (tmpfs): copy-truncate", async () => {
  const shm = "/dev/shm";
  if (!existsSync(shm) || statfsSync(shm).type !== TMPFS_MAGIC) {
    if (process.env.CI === "true") throw new Error("copy-truncate needs a tmpfs at /dev/shm in CI");
    console.log("  SKIP copy-truncate: no tmpfs at /dev/shm");
    return;
  }
  const dir = path.join(shm, `procman-rotate-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const log = path.join(dir, "t.log");
    writeFileSync(log, "x\n".repeat(10_000));
    assert.is(await rotateIfNeeded(log, 4096, 1), "copy-truncated");
    assert.is(readFileSync(log, "utf8"), "");
    assert.is(readFileSync(rotatedName(log, 1), "utf8"), "x\n".repeat(10_000));
  } finally {
    const { rmSync } = await import("node:fs");
    rmSync(dir, { recursive: true, force: true });
  }
});

// A review's service truncated its log to 2 GiB (a hole): the rotation copied the hole as zeros
// and root's writes filled the disk. A sparse log's copy keeps its holes holes and reads at most
// 4 × maxSize before the cut; what it left out, NAME.log.1 says. Data near the end (what a
// compressing file system's ordinary log would be) is kept, on every file system.
test("a sparse log is rotated without writing its holes; its data near the end is kept", async () => {
  const { truncateSync } = await import("node:fs");
  for (const base of [makeTempDir("procman-rotate-"), ...(existsSync("/dev/shm") ? [path.join("/dev/shm", `procman-rotate-${process.pid}`)] : [])]) {
    mkdirSync(base, { recursive: true });
    try {
      const log = path.join(base, "h.log");
      writeFileSync(log, "hello\n");
      truncateSync(log, 64 * 1024 * 1024);
      assert.not.equal(await rotateIfNeeded(log, 1024 * 1024, 2), "none");
      const kept = statSync(rotatedName(log, 1));
      assert.ok(kept.blocks * 512 < 256 * 1024, `NAME.log.1 takes ${kept.blocks * 512} bytes on disk (${base})`);
      assert.match(readFileSync(rotatedName(log, 1), "latin1").slice(0, 200), "this log was sparse");

      const near = path.join(base, "n.log");
      writeFileSync(near, "");
      truncateSync(near, 8 * 1024 * 1024);
      const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join("");
      writeFileSync(near, `${lines}TAILDATA\n`, { flag: "a" });
      assert.not.equal(await rotateIfNeeded(near, 1024 * 1024, 2), "none");
      const both = (readFileSync(rotatedName(near, 1), "latin1") + readFileSync(near, "latin1")).replace(/\0+/g, "");
      assert.ok(both.endsWith(`${lines}TAILDATA\n`), `data after the hole lost (${base})`);
    } finally {
      if (base.startsWith("/dev/shm")) rmSync(base, { recursive: true, force: true });
    }
  }
});

test("a symlink in place of the log is not followed", async () => {
  const dir = makeTempDir("procman-rotate-");
  const target = path.join(dir, "precious");
  writeFileSync(target, "y".repeat(100_000));
  const { symlinkSync } = await import("node:fs");
  symlinkSync(target, path.join(dir, "s.log"));
  assert.is(await rotateIfNeeded(path.join(dir, "s.log"), 10, 3), "none");
  assert.is(readFileSync(target, "utf8").length, 100_000);
});

test("the supervisor rotates a supervised process's log by its log settings", async () => {
  const dir = stateDir();
  let client: SupervisorClient | undefined;
  try {
    client = await startSupervisor(dir);
    const spec = processSpec(dir, "chatty", { LINES: "3000", BURST: "3000" }, { log: { maxSize: 32 * 1024, keep: 2 } }, NUMBERED);
    await deploy(dir, [spec], client);
    await waitFor(() => existsSync(rotatedName(spec.logFile, 1)), 15_000, "chatty.log.1");
    await waitFor(() => allText(spec.logFile).includes("line 3000 "), 15_000, "the last line");
  } finally {
    await teardown(dir, client);
  }
});

test.run();
