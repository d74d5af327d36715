// Files a service can write, opened the safe way: FIFOs and devices do not hang or flood procman,
// symbolic links are not followed, reads stay within their bound, creation never replaces.
import { spawnSync } from "node:child_process";
import { closeSync, readFileSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { UnsafeFileError, createExclusive, openAppendNoFollow, readPidLine, readServiceFile, readWholeFile } from "../../src/executor/safe-file.js";
import { makeTempDir } from "../helpers/tmp.js";

function unsafe(fn: () => unknown, why: string): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, UnsafeFileError);
    assert.match((error as Error).message, why);
    return;
  }
  assert.unreachable(`accepted: expected "${why}"`);
}

test("a FIFO is refused at once, not waited on (it would block the thread)", () => {
  const fifo = path.join(makeTempDir(), "web.pid");
  assert.is(spawnSync("mkfifo", [fifo]).status, 0);
  unsafe(() => readPidLine(fifo), "is not a regular file");
  unsafe(() => readWholeFile(fifo, 100), "is not a regular file");
});

test("a symbolic link is not followed (to /dev/zero, or to another service's file)", () => {
  const dir = makeTempDir();
  const zero = path.join(dir, "zero.pid");
  symlinkSync("/dev/zero", zero);
  unsafe(() => readServiceFile(zero, 1 << 30), "is a symbolic link; not followed");
  const other = path.join(dir, "other.pid");
  writeFileSync(other, "1\n");
  const link = path.join(dir, "web.pid");
  symlinkSync(other, link);
  unsafe(() => readPidLine(link), "is a symbolic link");
});

test("a missing file (or a missing directory on the way) is undefined, not an error", () => {
  const dir = makeTempDir();
  assert.is(readPidLine(path.join(dir, "none.pid")), undefined);
  assert.is(readServiceFile(path.join(dir, "no", "such"), 10), undefined);
  writeFileSync(path.join(dir, "file"), "x");
  assert.is(readWholeFile(path.join(dir, "file", "below"), 10), undefined, "ENOTDIR counts as missing");
});

test("readPidLine: the first line of at most 64 bytes, trimmed", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "postmaster.pid");
  writeFileSync(file, "4242\n/var/lib/postgresql/data\n1700000000\n");
  assert.is(readPidLine(file), "4242");
  writeFileSync(file, " 17 ");
  assert.is(readPidLine(file), "17", "no newline at the end");
  writeFileSync(file, "9".repeat(10_000));
  assert.is(readPidLine(file)!.length, 64, "read within the bound");
});

test("readServiceFile: at most `limit` bytes from `offset`", () => {
  const file = path.join(makeTempDir(), "log");
  writeFileSync(file, "0123456789");
  assert.is(readServiceFile(file, 4)!.toString(), "0123");
  assert.is(readServiceFile(file, 4, 8)!.toString(), "89");
  assert.is(readServiceFile(file, 4, 20)!.toString(), "");
});

test("readWholeFile: everything, or an error when larger than the limit (never silently cut)", () => {
  const file = path.join(makeTempDir(), "1.json");
  writeFileSync(file, "x".repeat(1000));
  assert.is(readWholeFile(file, 1000)!.length, 1000);
  unsafe(() => readWholeFile(file, 999), "is larger than 999 bytes");
});

test("createExclusive: a new file with the mode; never an existing file or a symlink's target", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "new");
  const fd = createExclusive(file, 0o600);
  writeSync(fd, "mine");
  closeSync(fd);
  assert.is(readFileSync(file, "utf8"), "mine");
  assert.throws(() => createExclusive(file, 0o600), /EEXIST/);
  const victim = path.join(dir, "victim");
  writeFileSync(victim, "untouched");
  const link = path.join(dir, "planted");
  symlinkSync(victim, link);
  assert.throws(() => createExclusive(link, 0o600), /EEXIST/);
  assert.is(readFileSync(victim, "utf8"), "untouched");
});

test("openAppendNoFollow: appends to the log procman created; a symlink in its place is refused", () => {
  const dir = makeTempDir();
  const log = path.join(dir, "web.log");
  writeFileSync(log, "one\n");
  const fd = openAppendNoFollow(log);
  writeSync(fd, "two\n");
  closeSync(fd);
  assert.is(readFileSync(log, "utf8"), "one\ntwo\n");
  const passwd = path.join(dir, "passwd");
  writeFileSync(passwd, "root:x:0:0\n");
  const planted = path.join(dir, "db.log");
  symlinkSync(passwd, planted);
  assert.throws(() => openAppendNoFollow(planted), /ELOOP/);
  assert.is(readFileSync(passwd, "utf8"), "root:x:0:0\n");
});

test.run();
