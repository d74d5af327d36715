// Records a crash cannot leave half-written: write a temp file, fsync it, rename it over the
// target, fsync the directory. A reader sees the old contents or the new, never a mix.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * `durable: false` skips the fsyncs but keeps the rename: a killed procman still leaves the old or
 * the new file. For runtime state (PID files, process records) that an OS crash makes moot anyway —
 * every process is gone then — and that is written once per process, where fsync dominated.
 */
export function writeFileAtomic(file: string, contents: string, mode = 0o644, durable = true): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fd = openSync(temp, "w", mode);
    try {
      writeSync(fd, contents);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  if (durable) syncDirectory(dir);
}

export function removeFile(file: string, durable = true): void {
  rmSync(file, { force: true });
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
