// Whether a directory procman keeps its records, PID files or logs in is procman's own. O_NOFOLLOW
// guards only the last component of a path (Node has no openat), so a directory someone else can
// write lets them swap what procman — often root — opens, reads or signals on its word.
//
// A checked directory must be owned by procman's user or root and not be writable by others
// without the sticky bit; group-writable earns a warning. Its ancestors too must belong to root or
// procman's user (the owner of a directory can rename what is in it, and put a copy with forged
// records in its place between two reads) and not be writable by others without the sticky bit
// (/tmp/x is fine: /tmp is sticky). Symbolic links on the way are followed when root or procman's
// user owns them (/var/run -> /run), refused otherwise. A path that does not exist yet is judged by
// the part that does: procman creates the rest.
//
// A file a service writes (its PID file, its readiness file) may lie in a directory the service
// owns, but nothing above that directory may be the service's: it could swap the directory for a
// link, and procman would remove or write files wherever that points.
import { lstatSync, readlinkSync, statSync, type Stats } from "node:fs";
import path from "node:path";
import { ProcmanError } from "../errors.js";

export class UntrustedDirError extends ProcmanError {
  constructor(
    readonly dir: string,
    readonly why: string,
  ) {
    super("EUNTRUSTED", `${dir}: ${why}; procman keeps its records, PID files and logs only in directories that no other user can change`, 2);
  }
}

type WarningSink = (message: string) => void;
let warn: WarningSink = (message) => void process.stderr.write(`procman: warning: ${message}\n`);
const warned = new Set<string>();

/** Where warnings go (the CLI sets its own output). */
export function setTrustWarningSink(sink: WarningSink): void {
  warn = sink;
}

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_ISVTX = 0o1000;

function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? uid);
}

function othersMayReplace(stat: Stats): boolean {
  return (stat.mode & S_IWOTH) !== 0 && (stat.mode & S_ISVTX) === 0;
}

/** Follows the path component by component; returns the real path of the part that exists. */
function walk(dir: string): { real: string; exists: boolean } {
  const pending = path.resolve(dir).split(path.sep).filter((part) => part !== "");
  let current = "/";
  checkAncestor(current, statSync(current));
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    let stat: Stats;
    try {
      stat = lstatSync(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { real: path.join(current, part, ...pending), exists: false };
      throw new UntrustedDirError(dir, `cannot inspect ${next}: ${(error as Error).message}`);
    }
    if (stat.isSymbolicLink()) {
      if (!trustedOwner(stat.uid)) throw new UntrustedDirError(dir, `the symbolic link ${next} belongs to uid ${stat.uid}`);
      if (++links > 40) throw new UntrustedDirError(dir, "too many symbolic links");
      const target = readlinkSync(next);
      pending.unshift(...target.split(path.sep).filter((item) => item !== ""));
      if (path.isAbsolute(target)) current = "/";
      continue;
    }
    if (!stat.isDirectory()) throw new UntrustedDirError(dir, `${next} is not a directory`);
    current = next;
    if (pending.length > 0) checkAncestor(current, stat);
  }
  return { real: current, exists: true };
}

function checkAncestor(dir: string, stat: Stats): void {
  if (othersMayReplace(stat)) throw new UntrustedDirError(dir, "any user may write it (mode has o+w without the sticky bit)");
  if (!trustedOwner(stat.uid)) throw new UntrustedDirError(dir, `it belongs to uid ${stat.uid}, who can replace what lies in it`);
}

/** Directories found safe to hold a service's files (cached for the command: root changes them only). */
const serviceDirsChecked = new Set<string>();

/**
 * Forgets what was found safe: a long-lived supervisor calls it whenever a command takes over (a
 * switch may have handed a directory to a service since), procman whenever it chowns a directory.
 */
export function forgetCheckedServiceDirs(): void {
  serviceDirsChecked.clear();
}

/**
 * Throws UntrustedDirError unless every directory above the one holding `file` belongs to root or
 * procman's user (that one may be the service's). Call it before removing or writing such a file.
 */
export function checkServiceFileDir(file: string): void {
  checkServiceDir(path.dirname(path.resolve(file)), file);
}

/**
 * Throws UntrustedDirError unless every directory above `dir` (which is the service's own: its
 * stateDirectory) belongs to root or procman's user. Never cached: see own-directories.ts.
 */
export function checkServiceDirAncestors(dir: string): void {
  try {
    walk(dir); // every component before the last
  } catch (error) {
    if (!(error instanceof UntrustedDirError)) throw error;
    throw new UntrustedDirError(error.dir, `${error.why}: not trusted above ${dir}`);
  }
}

function checkServiceDir(dir: string, file: string): void {
  dir = path.resolve(dir);
  if (serviceDirsChecked.has(dir)) return;
  try {
    // walk() checks every component before the last: exactly the directories above `dir`.
    const { real, exists } = walk(dir);
    if (!exists) return; // procman makes the rest, as its own
    // In a sticky directory anyone may write (/tmp), the owner of an entry may still rename it.
    const stat = lstatSync(real);
    if (!trustedOwner(stat.uid) && (lstatSync(path.dirname(real)).mode & S_IWOTH) !== 0) {
      throw new UntrustedDirError(real, `it belongs to uid ${stat.uid} and lies in a directory anyone may write, so its owner can replace it`);
    }
    serviceDirsChecked.add(dir);
  } catch (error) {
    if (!(error instanceof UntrustedDirError)) throw error;
    throw new UntrustedDirError(error.dir, `${error.why}: not trusted above ${file}`);
  }
}

/**
 * Throws UntrustedDirError (exit 2) for a directory procman must not trust; warns once when a group
 * may write it. Returns the real path when the directory exists.
 */
export function checkDirTrust(dir: string): string | undefined {
  const { real, exists } = walk(dir);
  if (!exists) return undefined;
  const stat = statSync(real);
  const named = real === path.resolve(dir) ? dir : `${dir} (${real})`;
  if (!trustedOwner(stat.uid)) throw new UntrustedDirError(named, `it belongs to uid ${stat.uid}, not to procman's user (uid ${process.geteuid?.()}) or root`);
  if (othersMayReplace(stat)) throw new UntrustedDirError(named, "any user may write it (mode has o+w without the sticky bit)");
  // Sticky (like /tmp): members of the group cannot replace what procman owns there.
  if ((stat.mode & S_IWGRP) !== 0 && (stat.mode & S_ISVTX) === 0 && !warned.has(real)) {
    warned.add(real);
    warn(`${named} is writable by its group (gid ${stat.gid}): its members can change what procman reads there`);
  }
  return real;
}
