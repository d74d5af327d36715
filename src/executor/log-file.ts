// A process's log, as root opens it for the service: created new without following anything
// (O_CREAT | O_EXCL | O_NOFOLLOW), or reopened for appending without following a symlink and
// compared with the file procman created (device and inode, kept in the record). A link, a FIFO,
// a device or another file in its place is refused: as root, "a" would append wherever a
// service's symlink points.
import { closeSync, constants, fstatSync, open } from "node:fs";
import path from "node:path";
import { createExclusive, openAppendNoFollow, openServiceFile, readServiceFile, UnsafeFileError } from "./safe-file.js";
import { makeDirectories } from "./atomic.js";

export interface LogIdentity {
  readonly dev: number;
  readonly ino: number;
}

export interface OpenedLog extends LogIdentity {
  readonly fd: number;
  /** Its size when opened: what this run writes starts here. */
  readonly offset: number;
}

/**
 * Opens (or creates) the log for a start; `known` is the log recorded at an earlier start, if any.
 * `made`: directories this command made already (made again if one went missing since).
 */
export function openLog(file: string, known?: LogIdentity, made?: Set<string>): OpenedLog {
  const dir = path.dirname(file);
  const makeDir = () => {
    makeDirectories(dir, 0o755);
    made?.add(dir);
  };
  if (made?.has(dir) !== true) makeDir();
  let fd: number;
  let created = true;
  try {
    try {
      fd = createExclusive(file, 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || made === undefined) throw error;
      makeDir();
      fd = createExclusive(file, 0o644);
    }
  } catch (error) {
    created = false;
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw error;
    try {
      fd = openAppendNoFollow(file);
    } catch (reopen) {
      throw refusedReopen(file, reopen);
    }
  }
  return checked(file, fd, created, known);
}

/**
 * openLog through the thread pool: creating a file blocks for milliseconds on a busy disk, and a
 * batch of starts should not wait on each other's. The same flags, checks and errors.
 */
export async function openLogAsync(file: string, known?: LogIdentity, made?: Set<string>): Promise<OpenedLog> {
  const dir = path.dirname(file);
  const makeDir = () => {
    makeDirectories(dir, 0o755);
    made?.add(dir);
  };
  if (made?.has(dir) !== true) makeDir();
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_NONBLOCK } = constants;
  const create = () => openFd(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  let fd: number;
  let created = true;
  try {
    try {
      fd = await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || made === undefined) throw error;
      makeDir();
      fd = await create();
    }
  } catch (error) {
    created = false;
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    try {
      fd = await openFd(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0o644);
    } catch (reopen) {
      throw refusedReopen(file, reopen);
    }
  }
  return checked(file, fd, created, known);
}

/** Why an existing log was not reopened: a link or a FIFO/socket is refused by name, else the error. */
function refusedReopen(file: string, error: unknown): unknown {
  const why = (error as NodeJS.ErrnoException).code;
  if (why === "ELOOP") return new UnsafeFileError(file, "is a symbolic link; the log is not opened through it");
  if (why === "ENXIO") return new UnsafeFileError(file, "is a FIFO or socket, not the log procman created");
  return error;
}

/** A raw descriptor (a FileHandle would close it when collected). */
function openFd(file: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(file, flags, mode, (error, fd) => (error !== null ? reject(error) : resolve(fd))));
}

function checked(file: string, fd: number, created: boolean, known: LogIdentity | undefined): OpenedLog {
  const stat = fstatSync(fd);
  const refuse = (why: string) => {
    closeSync(fd);
    throw new UnsafeFileError(file, why);
  };
  if (!stat.isFile()) refuse("is not a regular file, not the log procman created");
  // A file procman just created is its own; one that was there must be the one it created before.
  if (!created && known !== undefined && (stat.dev !== known.dev || stat.ino !== known.ino)) {
    refuse(`is another file than the log procman created (device ${stat.dev} inode ${stat.ino}, recorded ${known.dev}/${known.ino})`);
  }
  return { fd, dev: stat.dev, ino: stat.ino, offset: stat.size };
}

/** The last `lines` lines the process logged since `offset` (this run's part only), read within a bound. */
export function logTailSince(file: string, offset = 0, lines = 15, bound = 64 * 1024): string {
  let size: number;
  try {
    const opened = openServiceFile(file);
    if (opened === undefined) return "";
    size = opened.stat.size;
    closeSync(opened.fd);
  } catch {
    return "";
  }
  // A log shorter than the offset was rotated or truncated since: all of it is this run's.
  const from = size < offset ? 0 : offset;
  const start = Math.max(from, size - bound);
  let bytes: Buffer | undefined;
  try {
    bytes = readServiceFile(file, size - start, start);
  } catch {
    return "";
  }
  if (bytes === undefined) return "";
  let text = bytes.toString("utf8");
  if (start > from) text = text.slice(text.indexOf("\n") + 1); // cut a partial first line
  return text.split("\n").slice(-lines - 1).join("\n").trimEnd();
}
