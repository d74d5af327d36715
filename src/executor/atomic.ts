// Records a crash cannot leave half-written: write a temp file, fsync it, rename it over the
// target, fsync the directory. A reader sees the old contents or the new, never a mix. A full disk
// must not change that: a short write is continued until done or failed, and a failed temp file is
// removed, never renamed into place (it would be a truncated record from then on).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { FileError } from "../errors.js";
import { createExclusive } from "./safe-file.js";

/**
 * `durable: false` skips the fsyncs but keeps the rename: a killed procman still leaves the old or
 * the new file. For runtime state (PID files, process records) that an OS crash makes moot anyway —
 * every process is gone then — and that is written once per process, where fsync dominated.
 *
 * Any failure (ENOSPC, EDQUOT, EROFS, EACCES, …) is a FileError naming `file` (exit 1); the target
 * keeps its old contents.
 */
export function writeFileAtomic(file: string, contents: string | Uint8Array, mode = 0o600, durable = true): void {
  const dir = path.dirname(file);
  // Hidden (readers skip dot files) and unguessable; created exclusively without following a link,
  // so a planted symlink or file in a service-writable directory is refused, not written through.
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let created = false;
  try {
    makeDirectories(dir);
    const fd = createExclusive(temp, mode);
    created = true;
    try {
      writeAll(fd, typeof contents === "string" ? Buffer.from(contents) : contents);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    created = false;
  } catch (error) {
    if (created) rmSync(temp, { force: true });
    if (error instanceof FileError) throw error;
    throw new FileError(file, "write", error);
  }
  if (durable) syncDirectory(dir);
}

/** writeSync may write less than asked (a disk filling up): continue until all is written. */
function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) {
    const written = writeSync(fd, data, done, data.length - done);
    // 0 bytes without an error would loop forever; the kernel reports ENOSPC on the next call, but
    // do not depend on it.
    if (written <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
    done += written;
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir reports ENOENT for what is really EROFS or
 * EACCES, and the operator needs the real reason. A FileError names the level that failed.
 */
export function makeDirectories(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !existsSync(at); at = path.dirname(at)) missing.unshift(at);
  for (const level of missing) {
    try {
      mkdirSync(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new FileError(level, "create", error);
    }
  }
}

export function removeFile(file: string, durable = true): void {
  try {
    rmSync(file, { force: true });
  } catch (error) {
    throw new FileError(file, "remove", error);
  }
  if (durable) syncDirectory(path.dirname(file));
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic there.
  }
}
