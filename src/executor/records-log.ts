// The process records without a file per process: lib/procman/records.log, append-only, one line
// per change, and lib/procman/records.json, a snapshot written by rename when a command compacts
// under the lock. A reader takes the snapshot, then replays the log from where the snapshot left off.
//
// A line is `CRC32 JSON\n`, at most 4 KiB, written with one write(2) on an O_APPEND descriptor: a
// killed writer leaves the line whole or absent; a short write (a full disk) is truncated back and
// reported. Replay skips any line whose checksum does not match (not only the last). A record too
// large for a line is written atomically to large/NAME.json and the line refers to it.
//
// Every entry is absolute (this record, or none), so replaying lines the snapshot already folded in
// changes nothing: a crash between the snapshot's rename and the log's replacement loses nothing.
// The log starts with a header line (a random id), so that a new log is never an empty file.
import { closeSync, constants, fstatSync, ftruncateSync, linkSync, lstatSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { crc32 } from "node:zlib";
import { FileError } from "../errors.js";
import { makeDirectories, writeFileAtomic } from "./atomic.js";
import { createExclusive, readAt } from "./safe-file.js";

const { O_RDONLY, O_RDWR, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;

/** A line longer than this goes to large/NAME.json (short lines stay whole under any writer). */
export const MAX_LINE = 4096;

/** One change: a record (absolute), a removal, or a reference to a record too large for a line. */
export type LogEntry =
  | { readonly put: Record<string, unknown> }
  | { readonly del: string }
  | { readonly ref: string };

/** What one replay found: entries in order, the header's id, and where the log ended. */
export interface LogRead {
  readonly id: string | undefined;
  readonly entries: { readonly entry: Record<string, unknown>; readonly offset: number; readonly raw: Buffer }[];
  /** Bytes read: up to and including the last complete line. */
  readonly end: number;
  readonly ino: number;
  /** Offsets of complete lines whose checksum failed (skipped). */
  readonly bad: readonly number[];
}

export function formatLine(value: object): Buffer {
  const json = JSON.stringify(value);
  const length = Buffer.byteLength(json);
  const line = Buffer.allocUnsafe(length + 10);
  line.write(json, 9, "utf8");
  line.write(crc32(line.subarray(9, 9 + length)).toString(16).padStart(8, "0"), 0, "latin1");
  line[8] = 0x20;
  line[9 + length] = 0x0a;
  return line;
}

/** The JSON of a line whose checksum matches, else undefined. */
function parseLine(line: Buffer): Record<string, unknown> | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const body = line.subarray(9);
  const sum = Number.parseInt(line.subarray(0, 8).toString("latin1"), 16);
  if (!Number.isFinite(sum) || crc32(body) !== sum) return undefined;
  try {
    const value = JSON.parse(body.toString("utf8")) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Stats of the log (no link followed), or undefined when there is none. */
export function statLog(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FileError(file, "read", error);
  }
}

/**
 * Reads the log from `from` (0: from the start, header included). Lines that fail their checksum
 * are skipped; a last line without its newline is left for the next read (a writer may be mid-line).
 */
export function readLog(file: string, from: number): LogRead | undefined {
  const fd = openLog(file);
  if (fd === undefined) return undefined;
  try {
    return readLogFd(fd, file, from);
  } finally {
    closeSync(fd);
  }
}

/** A read-only descriptor on the log (no link followed), or undefined when there is none. */
export function openLog(file: string): number | undefined {
  try {
    return openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FileError(file, "read", error);
  }
}

export function readLogFd(fd: number, file: string, from: number): LogRead {
  const stat = fstatSync(fd);
  if (!stat.isFile()) throw new FileError(file, "read", Object.assign(new Error("not a regular file"), { code: "EINVAL" }));
  const start = Math.min(from, stat.size);
  const buffer = readAt(fd, start, stat.size - start);
  const got = buffer.length;
  let id: string | undefined;
  const entries: LogRead["entries"][number][] = [];
  const bad: number[] = [];
  let at = 0;
  while (at < got) {
    const newline = buffer.indexOf(0x0a, at);
    if (newline < 0 || newline >= got) break;
    const raw = buffer.subarray(at, newline + 1);
    const value = parseLine(buffer.subarray(at, newline));
    const offset = start + at;
    at = newline + 1;
    if (value === undefined) {
      bad.push(offset);
      continue;
    }
    if (typeof value.log === "string") {
      if (offset === 0) id = value.log;
    } else entries.push({ entry: value, offset, raw });
  }
  return { id, entries, end: start + at, ino: stat.ino, bad };
}

/** A new log holding only its header, put in place by link(2): never over one that exists. */
function createLog(file: string): void {
  makeDirectories(path.dirname(file), 0o700);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = createExclusive(temp, 0o600);
  try {
    writeSync(fd, formatLine({ layout: 1, log: randomBytes(9).toString("base64url") }));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Replaces the log by an empty one (compaction, under the lock, after the snapshot is in place). */
export function replaceLog(file: string): void {
  forget(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fd = createExclusive(temp, 0o600);
    try {
      writeSync(fd, formatLine({ layout: 1, log: randomBytes(9).toString("base64url") }));
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new FileError(file, "write", error);
  }
}

/**
 * Appends one line with one write(2). A short write is truncated back and fails (FileError naming
 * the log). If compaction replaced the log meanwhile, the line is appended to the new one as well
 * (an entry is absolute: applying it twice is applying it once). `exclusive`: the caller holds the
 * lock, so nobody else compacts (replaces the log) meanwhile, and that check is skipped.
 */
export function appendLine(file: string, line: Buffer, exclusive = false): void {
  appendLines(file, [line], exclusive);
}

/**
 * Appends lines, each whole: one write(2) for up to 64 KiB of them (the stops of one round), and
 * the same short-write rule (truncated back, FileError).
 */
export function appendLines(file: string, lines: readonly Buffer[], exclusive = false): void {
  let batch: Buffer[] = [];
  let size = 0;
  for (const line of lines) {
    if (batch.length > 0 && size + line.length > 65536) {
      appendData(file, Buffer.concat(batch), exclusive);
      batch = [];
      size = 0;
    }
    batch.push(line);
    size += line.length;
  }
  if (batch.length > 0) appendData(file, batch.length === 1 ? batch[0]! : Buffer.concat(batch), exclusive);
}

/**
 * The log as this process last appended to it: kept open (a switch appends 500 records), with
 * where its last own line ended, so that an append that finds no byte there knows the log ends in
 * its own newline and needs no fstat (Node's Stats objects are costly by the thousand).
 */
interface AppendTarget {
  readonly fd: number;
  readonly ino: number;
  end: number;
}
const targets = new Map<string, AppendTarget>();
const probe = Buffer.alloc(1);

function forget(file: string): void {
  const target = targets.get(file);
  if (target === undefined) return;
  targets.delete(file);
  try {
    closeSync(target.fd);
  } catch {
    // closed already
  }
}

function targetOf(file: string): AppendTarget | undefined {
  let target = targets.get(file);
  if (target !== undefined) return target;
  let fd: number;
  try {
    fd = openSync(file, O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new FileError(file, "write", error);
    try {
      createLog(file);
    } catch (created) {
      throw created instanceof FileError ? created : new FileError(file, "write", created);
    }
    return undefined;
  }
  try {
    target = { fd, ino: fstatSync(fd).ino, end: -1 };
  } catch (error) {
    closeSync(fd);
    throw new FileError(file, "write", error);
  }
  targets.set(file, target);
  return target;
}

function appendData(file: string, line: Buffer, exclusive: boolean): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    const target = targetOf(file);
    if (target === undefined) continue; // just created
    const { fd } = target;
    try {
      // Where the log ends: where this process's last line ended, unless a byte is there now.
      let size = target.end;
      if (size < 0 || readSync(fd, probe, 0, 1, size) !== 0) size = fstatSync(fd).size;
      // A line left without its newline (a disk that filled up mid-line, another writer killed
      // mid-line) must not swallow this one. After a line of this process's own, none is.
      let data = line;
      if (size > 0 && size !== target.end && readSync(fd, probe, 0, 1, size - 1) === 1 && probe[0] !== 0x0a) data = Buffer.concat([Buffer.from("\n"), line]);
      let written: number;
      try {
        written = writeSync(fd, data);
      } catch (error) {
        throw new FileError(file, "write", error);
      }
      if (written !== data.length) {
        const end = fstatSync(fd).size;
        try {
          ftruncateSync(fd, Math.max(0, end - written));
        } catch {
          // the checksum will reject the partial line
        }
        throw new FileError(file, "write", Object.assign(new Error(`short write (${written} of ${data.length} bytes): no space left on device?`), { code: "ENOSPC" }));
      }
      // O_APPEND: another writer's line may have gone before this one; the next probe finds out.
      target.end = size + written;
    } catch (error) {
      forget(file);
      throw error;
    }
    if (exclusive) return;
    const now = statLog(file);
    if (now !== undefined && now.ino === target.ino) return;
    forget(file);
  }
  throw new FileError(file, "write", Object.assign(new Error("replaced again and again while appending"), { code: "EAGAIN" }));
}

/** Writes a record too large for a line; the line that refers to it follows. */
export function writeLarge(dir: string, name: string, contents: string): void {
  writeFileAtomic(path.join(dir, `${name}.json`), contents, 0o600, false);
}
