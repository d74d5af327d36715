// Log rotation by the supervisor. Services append with O_APPEND, so the prefix of a log can be cut
// off under them: the first block-aligned bytes are copied to NAME.log.1 (older ones shift to .2 …)
// and then removed from the live file with `fallocate --collapse-range` (ext4, xfs), which loses
// nothing: what the service writes meanwhile lands after the cut. A line may straddle the cut (its
// start ends NAME.log.1, its end begins NAME.log); `procman logs` joins them. Where collapse-range is
// not supported (tmpfs, …) it falls back to copy-truncate, which loses whatever is written between
// the last read and the truncate (a window of one read of the tail, microseconds).
import { spawn } from "node:child_process";
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { createExclusive } from "../executor/safe-file.js";

const { O_RDWR, O_NOFOLLOW, O_NONBLOCK } = constants;

export type RotateOutcome = "none" | "collapsed" | "copy-truncated";

export function rotatedName(file: string, n: number): string {
  return `${file}.${n}`;
}

/** Rotates `file` when it is larger than maxSize (0: never); keeps `keep` rotated files. */
export async function rotateIfNeeded(file: string, maxSize: number, keep: number): Promise<RotateOutcome> {
  return (await rotateLog(file, maxSize, keep)).outcome;
}

/** rotateIfNeeded, telling the log's size as found and once rotated (what the schedule needs). */
export async function rotateLog(file: string, maxSize: number, keep: number): Promise<{ outcome: RotateOutcome; size: number; after: number }> {
  if (maxSize <= 0) return { outcome: "none", size: 0, after: 0 };
  let fd: number;
  try {
    // Never through a symlink a service planted; never blocking on a FIFO.
    fd = openSync(file, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return { outcome: "none", size: 0, after: 0 };
  }
  try {
    const stat = fstatSync(fd);
    const size = stat.isFile() ? stat.size : 0;
    const none = { outcome: "none" as const, size, after: size };
    if (!stat.isFile() || stat.size <= maxSize) return none;
    const block = stat.blksize > 0 ? stat.blksize : 4096;
    // Collapse-range must end before the end of the file.
    const cut = Math.floor((stat.size - 1) / block) * block;
    if (cut === 0) return none;
    let out: number | undefined;
    let temp: string | undefined;
    // Appending never leaves holes; a service that truncated its log far beyond its end did (or
    // the file system compresses: fewer blocks than bytes there too). Holes are not copied as
    // zeros, written by root (a 2 GiB hole would cost 2 GiB of disk per kept file): the copy
    // skips every chunk that reads all zeros, and reads at most SPARSE_READ_LIMIT × maxSize before
    // the cut (reading a huge hole takes the supervisor's thread); NAME.log.1 says what it left out.
    const sparse = isSparse(stat);
    const from = sparse ? Math.max(0, cut - SPARSE_READ_LIMIT * maxSize) : 0;
    if (keep > 0) {
      temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.rotate`);
      rmSync(temp, { force: true });
      out = createExclusive(temp, 0o644);
    }
    try {
      let at = 0;
      if (out !== undefined && from > 0) {
        const note = Buffer.from(`procman: this log was sparse (${stat.size} bytes, ${stat.blocks * 512} on disk): its first ${from} bytes were not kept\n`);
        writeSync(out, note);
        at = note.length;
      }
      if (out !== undefined) at = copyRange(fd, out, from, cut, at, sparse);
      if (keep > 0) shift(file, keep);
      if (temp !== undefined) renameSync(temp, rotatedName(file, 1));
      if (await collapse(fd, cut)) return { outcome: "collapsed", size, after: size - cut };
      // Copy-truncate: the rest too, then empty the file; lines written in between are lost.
      if (out !== undefined) copyRange(fd, out, cut, Number.MAX_SAFE_INTEGER, at, sparse);
      ftruncateSync(fd, 0);
      return { outcome: "copy-truncated", size, after: 0 };
    } finally {
      if (out !== undefined) closeSync(out);
      if (temp !== undefined) rmSync(temp, { force: true });
    }
  } finally {
    closeSync(fd);
  }
}

/** Much less on disk than its size: holes, not data (a little slack for metadata and preallocation). */
function isSparse(stat: { size: number; blocks: number }): boolean {
  const onDisk = stat.blocks * 512;
  return stat.size - onDisk > 1024 * 1024 && onDisk < stat.size / 2;
}

/** NAME.log.k → NAME.log.k+1, dropping what falls beyond keep (rename and unlink never follow links). */
function shift(file: string, keep: number): void {
  rmSync(rotatedName(file, keep), { force: true });
  for (let n = keep - 1; n >= 1; n--) {
    if (existsSync(rotatedName(file, n))) renameSync(rotatedName(file, n), rotatedName(file, n + 1));
  }
}

/**
 * Copies [start, end) (end clipped to what is there) to `to` from offset `at`, looping over short
 * reads and writes; returns where the copy ends. `holes`: a chunk that reads all zeros is left a
 * hole in the copy (skipped, then the length set), not written.
 */
function copyRange(from: number, to: number, start: number, end: number, at: number, holes: boolean): number {
  const buffer = Buffer.alloc(1 << 20);
  let read = start;
  let skipped = false;
  while (read < end) {
    const n = readSync(from, buffer, 0, Math.min(buffer.length, end - read), read);
    if (n === 0) break;
    read += n;
    if (holes && buffer.subarray(0, n).equals(ZEROS.subarray(0, n))) {
      at += n;
      skipped = true;
      continue;
    }
    let written = 0;
    while (written < n) written += writeSync(to, buffer, written, n - written, at + written);
    at += n;
    skipped = false;
  }
  if (skipped) ftruncateSync(to, at); // a hole at the end: the copy's length, without its blocks
  return at;
}

const ZEROS = Buffer.alloc(1 << 20);
/** How much of a sparse log before the cut is read, in multiples of log.maxSize. */
const SPARSE_READ_LIMIT = 4;

/** util-linux fallocate on the descriptor we hold (reopened through /proc/self/fd: no path a service could swap). */
function collapse(fd: number, length: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(fallocateTool(), ["--collapse-range", "--offset", "0", "--length", String(length), "/proc/self/fd/3"], {
      stdio: ["ignore", "ignore", "ignore", fd],
    });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

function fallocateTool(): string {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    if (existsSync(path.join(dir, "fallocate"))) return path.join(dir, "fallocate");
  }
  return "fallocate";
}
