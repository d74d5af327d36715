// writeFileAtomic on real file systems: a full tmpfs (ENOSPC) and a read-only one (EROFS), mounted
// for the test when procman's tests run as root, and removed after.
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeFile, writeFileAtomic } from "../../src/executor/atomic.js";
import { FileError, ProcmanError } from "../../src/errors.js";
import { makeTempDir } from "../helpers/tmp.js";
import { withTmpfs } from "../helpers/tmpfs.js";

function expectFileError(fn: () => void, file: string, errno: string): FileError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, FileError);
    const failure = error as FileError;
    assert.is(failure.exitCode, 1, "an operational failure, not bad input or an internal error");
    assert.is(failure.code, "EFILE");
    assert.is(failure.errno, errno);
    assert.match(failure.message, `cannot write ${file}: `);
    assert.match(failure.message, `(${errno})`);
    return failure;
  }
  assert.unreachable(`no ${errno}`);
  throw new Error("unreachable");
}

test("a full disk (ENOSPC): a FileError naming the file; the old record stays whole and no temp file is left", async () => {
  await withTmpfs("ENOSPC", "size=64k", (dir) => {
    const file = path.join(dir, "generations", "3.json");
    writeFileAtomic(file, '{"old": true}\n');
    // Bigger than the whole file system: the write stops short of it, then fails.
    const big = `${JSON.stringify({ filler: "x".repeat(200 * 1024) })}\n`;
    expectFileError(() => writeFileAtomic(file, big), file, "ENOSPC");
    assert.is(readFileSync(file, "utf8"), '{"old": true}\n', "a short file was renamed into place");
    assert.equal(readdirSync(path.dirname(file)), ["3.json"], "the temp file was left behind");
    // Space is back once the temp file is gone: a small write works again.
    writeFileAtomic(file, '{"new": true}\n');
    assert.is(readFileSync(file, "utf8"), '{"new": true}\n');
  });
});

test("a read-only file system (EROFS): a FileError naming the file, exit 1", async () => {
  await withTmpfs("EROFS", "size=64k,ro", (dir) => {
    expectFileError(() => writeFileAtomic(path.join(dir, "current.json"), "{}\n"), path.join(dir, "current.json"), "EROFS");
  });
});

test("a missing directory on a read-only file system: the directory is named with EROFS (Node's recursive mkdir says ENOENT)", async () => {
  await withTmpfs("EROFS mkdir", "size=64k,ro", (dir) => {
    try {
      writeFileAtomic(path.join(dir, "generations", "1.json"), "{}\n");
      assert.unreachable("written on a read-only file system");
    } catch (error) {
      assert.instance(error, FileError);
      assert.is((error as FileError).errno, "EROFS");
      assert.is((error as Error).message, `cannot create ${path.join(dir, "generations")}: the file system is read-only (EROFS)`);
    }
  });
});

test("removeFile on a read-only file system: a FileError naming the file", async () => {
  await withTmpfs("EROFS remove", "size=64k", (dir) => {
    const file = path.join(dir, "journal.json");
    writeFileSync(file, "{}");
    spawnSync("mount", ["-o", "remount,ro", dir]);
    try {
      removeFile(file);
      assert.unreachable("removed on a read-only file system");
    } catch (error) {
      assert.instance(error, ProcmanError);
      assert.is((error as ProcmanError).exitCode, 1);
      assert.match((error as Error).message, `cannot remove ${file}`);
    }
  });
});

test("files are created 0600 by default, whatever the umask", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "record.json");
  const previous = process.umask(0);
  try {
    writeFileAtomic(file, "secret\n");
  } finally {
    process.umask(previous);
  }
  assert.is(lstatSync(file).mode & 0o777, 0o600);
  writeFileAtomic(file, "again\n", 0o700);
  assert.is(lstatSync(file).mode & 0o777 & ~process.umask(), 0o700 & ~process.umask());
});

test("a symbolic link at the target is replaced, never written through", () => {
  const dir = makeTempDir();
  const victim = path.join(dir, "victim");
  writeFileSync(victim, "untouched\n");
  const file = path.join(dir, "record.json");
  symlinkSync(victim, file);
  writeFileAtomic(file, "record\n");
  assert.is(readFileSync(victim, "utf8"), "untouched\n");
  assert.ok(lstatSync(file).isFile());
  assert.is(readFileSync(file, "utf8"), "record\n");
});

test("bytes and text are written exactly, however large", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "big");
  const text = "é".repeat(3 * 1024 * 1024); // 6 MiB of two-byte characters: several writes
  writeFileAtomic(file, text, 0o600, false);
  assert.is(readFileSync(file, "utf8"), text);
  writeFileAtomic(file, Uint8Array.from([0, 1, 2, 255]));
  assert.equal([...readFileSync(file)], [0, 1, 2, 255]);
});

test.run();
