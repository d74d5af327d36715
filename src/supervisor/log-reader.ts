// Reading what processes logged: the tail of a log and its rotated files as one stream, and
// following what is appended (across a rotation). Logs are service-writable: opened without
// following a symlink, never a FIFO, read within bounds.
import { closeSync } from "node:fs";
import { openServiceFile, readAt, UnsafeFileError } from "../executor/safe-file.js";

const MAX_ROTATED = 1000;
/** Most bytes one poll takes from one log (the rest comes with the next poll). */
const FOLLOW_CHUNK = 1024 * 1024;

export interface Tail {
  readonly lines: string[];
  /** Size of the live log when read: -f goes on from here. */
  readonly size: number;
  readonly ino: number | undefined;
  readonly warnings: string[];
}

/**
 * The last `count` lines of the stream NAME.log.<k> … NAME.log.1, NAME.log, read backwards in blocks
 * until enough newlines are seen, the oldest file begins, or `limit` bytes were read.
 */
export function readTail(file: string, count: number, limit: number): Tail {
  const warnings: string[] = [];
  const parts: { fd: number; size: number }[] = [];
  let size = 0;
  let ino: number | undefined;
  try {
    for (let n = 0; n <= MAX_ROTATED; n++) {
      const name = n === 0 ? file : `${file}.${n}`;
      let opened;
      try {
        opened = openServiceFile(name);
      } catch (error) {
        if (!(error instanceof UnsafeFileError)) throw error;
        warnings.push(`${error.message}: not shown`);
        break;
      }
      if (opened === undefined) {
        if (n === 0) continue; // no live log yet; rotated ones may still exist
        break;
      }
      if (n === 0) {
        size = opened.stat.size;
        ino = opened.stat.ino;
      }
      parts.push({ fd: opened.fd, size: opened.stat.size });
    }
    if (count === 0) return { lines: [], size, ino, warnings };
    const chunks: Buffer[] = [];
    let newlines = 0;
    let read = 0;
    let complete = false;
    outer: for (const [index, part] of parts.entries()) {
      let end = part.size;
      while (end > 0) {
        if (read >= limit) break outer;
        const length = Math.min(64 * 1024, end, limit - read);
        const chunk = readAt(part.fd, end - length, length);
        chunks.unshift(chunk);
        read += chunk.length;
        end -= length;
        for (const byte of chunk) if (byte === 0x0a) newlines++;
        // count lines need count + 1 newlines (the one before the first), or the stream's start.
        if (newlines > count) break outer;
      }
      if (index === parts.length - 1) complete = true;
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const tail = lines.slice(-count);
    if (!complete && newlines <= count) {
      warnings.push(`stopped reading back after ${limit} bytes; showing the last ${Math.max(0, tail.length - 1)} lines, not ${count}`);
      // The first piece is a line cut by the limit, not a whole line.
      tail.shift();
    }
    return { lines: tail, size, ino, warnings };
  } finally {
    for (const part of parts) closeSync(part.fd);
  }
}

/** The longest piece of a line that a follower holds back waiting for its end. */
export const MAX_LINE = 64 * 1024;

/** Follows one log from an offset: whole lines as they come; a line still being written waits. */
export class LogFollower {
  private partial = Buffer.alloc(0);
  constructor(readonly file: string, private offset: number, private ino: number | undefined) {}

  /** The complete lines appended since the last call (a rotation is followed, not repeated). */
  poll(): string[] {
    const opened = openServiceFile(this.file); // UnsafeFileError for a symlink: the caller says so
    if (opened === undefined) return [];
    try {
      const { size, ino } = opened.stat;
      if (this.ino !== undefined && ino !== this.ino) this.offset = 0; // replaced
      else if (size < this.offset) {
        // Rotated: the cut prefix is FILE.1 now (collapse-range), or all of the old file (copy-truncate).
        let rotated;
        try {
          rotated = openServiceFile(`${this.file}.1`);
        } catch {
          rotated = undefined;
        }
        const cut = rotated?.stat.size ?? this.offset;
        if (rotated !== undefined) closeSync(rotated.fd);
        this.offset = Math.max(0, this.offset - cut);
      }
      this.ino = ino;
      if (size <= this.offset) return [];
      const length = Math.min(FOLLOW_CHUNK, size - this.offset);
      const chunk = readAt(opened.fd, this.offset, length);
      this.offset += chunk.length;
      // Kept as bytes: a multi-byte character may be cut between two polls.
      const bytes = Buffer.concat([this.partial, chunk]);
      const end = bytes.lastIndexOf(0x0a);
      const lines = end < 0 ? [] : bytes.subarray(0, end).toString("utf8").split("\n");
      // A line that never ends (a service writing without a newline, a sparse log's hole) must
      // not grow in memory: past MAX_LINE bytes its start is shown as a line of its own.
      let rest = bytes.subarray(end + 1);
      while (rest.length > MAX_LINE) {
        let cut = MAX_LINE;
        while (cut > MAX_LINE - 4 && (rest[cut]! & 0xc0) === 0x80) cut--; // not inside a character
        lines.push(rest.subarray(0, cut).toString("utf8"));
        rest = rest.subarray(cut);
      }
      this.partial = Buffer.from(rest);
      return lines;
    } finally {
      closeSync(opened.fd);
    }
  }
}

export { UnsafeFileError };
