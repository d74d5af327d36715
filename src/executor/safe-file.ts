// Files a service can write (PID files, logs, anything under runtimeDir, logDir or a
// stateDirectory) are input from a possibly hostile party. They are opened without following a
// symlink and without blocking (a FIFO would hang the thread), must be regular files, and are read
// within a bound (a link to /dev/zero must not grow procman to a gigabyte). O_NOFOLLOW guards only
// the last component: the directories above must be procman's own.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL, O_APPEND } = constants;

/** Why a service-writable file was not read. */
export class UnsafeFileError extends Error {
  readonly code = "EUNSAFEFILE";
  constructor(readonly file: string, readonly why: string) {
    super(`${file}: ${why}`);
  }
}

/** Opens for reading: no symlink, no blocking, a regular file. Undefined when it does not exist. */
export function openServiceFile(file: string): { fd: number; stat: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP") throw new UnsafeFileError(file, "is a symbolic link; not followed");
    throw error;
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw new UnsafeFileError(file, "is not a regular file");
  }
  return { fd, stat };
}

/** Up to `length` bytes of `fd` from `position` (fewer where the file ends sooner). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

/** Reads at most `limit` bytes from `offset` of a service-writable file. */
export function readServiceFile(file: string, limit: number, offset = 0): Buffer | undefined {
  const opened = openServiceFile(file);
  if (opened === undefined) return undefined;
  try {
    return readAt(opened.fd, offset, Math.max(0, Math.min(limit, opened.stat.size - offset)));
  } finally {
    closeSync(opened.fd);
  }
}

/** The first line of a PID file (postgres' postmaster.pid has several), read within 64 bytes. */
export function readPidLine(file: string): string | undefined {
  const bytes = readServiceFile(file, 64);
  if (bytes === undefined) return undefined;
  return bytes.toString("latin1").split("\n", 1)[0]!.trim();
}

/** Creates a new file, never following or replacing anything already there. */
export function createExclusive(file: string, mode: number): number {
  return openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
}

/** Opens an existing log for appending without following a symlink. */
export function openAppendNoFollow(file: string): number {
  return openSync(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK);
}

/**
 * All of a file, read the safe way (procman's own records too: a directory above may have been
 * writable once). Larger than `limit`: an UnsafeFileError, not a silently cut read.
 */
export function readWholeFile(file: string, limit: number): Buffer | undefined {
  const opened = openServiceFile(file);
  if (opened === undefined) return undefined;
  try {
    if (opened.stat.size > limit) throw new UnsafeFileError(file, `is larger than ${limit} bytes`);
    return readAt(opened.fd, 0, opened.stat.size);
  } finally {
    closeSync(opened.fd);
  }
}
