// One procman at a time per state dir. The lock is a file naming its owner: PID, /proc start time
// and PID namespace. Staleness is decided by the owner alone, never by age: a holder that is
// stopped (Ctrl-Z) or whose event loop blocks is alive and keeps its lock; a dead holder's lock is
// taken over at once.
//
// This replaces proper-lockfile, whose only staleness rule is the lock's mtime (refreshed by a
// timer): a paused holder lost its lock to a second switch after 5 s, and a killed one blocked
// everyone for those 5 s. Its owner-less mkdir lock cannot carry an owner record, so nothing of it
// is kept.
//
// Every step is atomic:
// - acquire: the owner record is written to a private file first and hard-linked to `lock`; link(2)
//   fails if `lock` exists, and a reader never sees a half-written owner.
// - take over a dead owner's lock: only the holder of `lock.<token>.takeover` (acquired the same way,
//   so two waiters cannot both hold it) may remove `lock`, after re-reading it under that claim
//   and finding the same dead owner. A takeover claim whose holder died is itself taken over, one
//   level deeper.
import { linkSync, lstatSync, readdirSync, readlinkSync, rmSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { FileError, ProcmanError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { isLive, readProcStat } from "./proc.js";
import { UnsafeFileError, readServiceFile } from "./safe-file.js";

export interface LockOwner {
  readonly pid: number;
  readonly startTime: string;
  /** `readlink /proc/self/ns/pid`: a PID means nothing outside its namespace. */
  readonly pidNamespace: string;
  /** Unique per acquisition: tells this holding apart from an earlier one of the same process. */
  readonly token: string;
  readonly acquiredAt: string;
}

/** The release function of a held lock; also says whether the lock is still held. */
export type LockRelease = (() => Promise<void>) & {
  /** Re-reads the lock file: false once it no longer names this holder. */
  isHeld(): boolean;
  /** Aborted (with a LockLostError) when a periodic check finds the lock no longer ours. */
  readonly signal: AbortSignal;
};

/** The lock file stopped naming this procman (removed by hand, or a bug): the work must stop and undo. */
export class LockLostError extends ProcmanError {
  constructor(readonly file: string) {
    super("ELOCKLOST", `lost the lock ${file}: it no longer names this procman; stopping and undoing`, 1);
  }
}

/** An owner-less lock (proper-lockfile's directory from an older procman, a damaged file) counts as stale after this. */
const UNKNOWN_OWNER_STALE_MS = 10_000;
/** How deep takeovers of takeovers may nest: each level needs a holder that died mid-takeover. */
const MAX_DEPTH = 6;
const POLL_MS = 50;
const CHECK_MS = 1_000;

let namespaceCache: string | undefined;
export function ownPidNamespace(): string {
  if (namespaceCache === undefined) {
    try {
      namespaceCache = readlinkSync("/proc/self/ns/pid");
    } catch {
      namespaceCache = "";
    }
  }
  return namespaceCache;
}

/**
 * Whether the owner may still hold its lock. A holder in another PID namespace (a procman in a
 * container sharing the state dir) cannot be checked from here: it counts as alive.
 */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.pidNamespace !== ownPidNamespace()) return true;
  const stat = readProcStat(owner.pid);
  // Stopped (T) and traced processes are alive; a zombie is dead.
  return isLive(stat) && stat.startTime === owner.startTime;
}

type Holder =
  | { readonly kind: "missing" }
  | { readonly kind: "owner"; readonly owner: LockOwner }
  /** Not an owner record: identified by inode and mtime, stale once unchanged for a while. */
  | { readonly kind: "unknown"; readonly ino: number; readonly mtimeMs: number };

function readHolder(file: string): Holder {
  let bytes: Buffer | undefined;
  try {
    bytes = readServiceFile(file, 4096);
  } catch (error) {
    if (!(error instanceof UnsafeFileError)) throw new FileError(file, "read", error);
  }
  if (bytes === undefined) {
    const stat = lstatOrUndefined(file);
    if (stat === undefined) return { kind: "missing" };
    return { kind: "unknown", ino: stat.ino, mtimeMs: stat.mtimeMs };
  }
  const owner = parseOwner(bytes.toString("utf8"));
  if (owner !== undefined) return { kind: "owner", owner };
  const stat = lstatOrUndefined(file);
  return stat === undefined ? { kind: "missing" } : { kind: "unknown", ino: stat.ino, mtimeMs: stat.mtimeMs };
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.pid) || (v.pid as number) <= 0) return undefined;
  for (const key of ["startTime", "pidNamespace", "token", "acquiredAt"]) if (typeof v[key] !== "string") return undefined;
  return v as unknown as LockOwner;
}

function holderAlive(holder: Holder): boolean {
  if (holder.kind === "missing") return false;
  if (holder.kind === "owner") return ownerAlive(holder.owner);
  return Date.now() - holder.mtimeMs < UNKNOWN_OWNER_STALE_MS;
}

function sameHolder(a: Holder, b: Holder): boolean {
  if (a.kind === "owner" && b.kind === "owner") return a.owner.token === b.owner.token;
  if (a.kind === "unknown" && b.kind === "unknown") return a.ino === b.ino && a.mtimeMs === b.mtimeMs;
  return false;
}

function holderKey(holder: Holder): string {
  return holder.kind === "owner" ? holder.owner.token.replace(/[^A-Za-z0-9]/g, "") : `i${holder.kind === "unknown" ? holder.ino : 0}`;
}

class Claimant {
  /** This holding's owner record; hard-linked to every name it claims. */
  readonly ownerFile: string;
  constructor(
    readonly lockFile: string,
    readonly owner: LockOwner,
  ) {
    this.ownerFile = path.join(path.dirname(lockFile), `.${path.basename(lockFile)}.${owner.token}.owner`);
  }

  writeOwnerFile(): void {
    writeFileAtomic(this.ownerFile, `${JSON.stringify(this.owner)}\n`, 0o600, false);
  }

  removeOwnerFile(): void {
    rmSync(this.ownerFile, { force: true });
  }

  /** Claims `target` once: true when it is now ours, false while a live holder (or another taker) has it. */
  claim(target: string, depth = 0): boolean {
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        linkSync(this.ownerFile, target);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new FileError(target, "create", error);
      }
      const holder = readHolder(target);
      if (holder.kind === "missing") continue; // released just now: try again
      if (holder.kind === "owner" && holder.owner.token === this.owner.token) return true;
      if (holderAlive(holder)) return false;
      if (depth >= MAX_DEPTH) return false;
      // A dead holder: remove its lock only under the takeover claim for exactly that holder.
      const takeover = `${target}.${holderKey(holder)}.takeover`;
      if (!this.claim(takeover, depth + 1)) return false; // another waiter is taking over
      try {
        if (sameHolder(readHolder(target), holder)) rmSync(target, { force: true, recursive: holder.kind === "unknown" });
      } finally {
        this.unclaim(takeover);
      }
    }
    return false;
  }

  /** Removes `target` if it still names this holding. */
  unclaim(target: string): void {
    const holder = readHolder(target);
    if (holder.kind === "owner" && holder.owner.token === this.owner.token) unlinkSync(target);
  }

  holds(): boolean {
    const holder = readHolder(this.lockFile);
    return holder.kind === "owner" && holder.owner.token === this.owner.token;
  }

  /** Takeover claims and owner files left by procmans that died: harmless, but they pile up. */
  sweep(): void {
    const dir = path.dirname(this.lockFile);
    const base = path.basename(this.lockFile);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const isTakeover = entry.startsWith(`${base}.`) && entry.endsWith(".takeover");
      const isOwnerFile = entry.startsWith(`.${base}.`) && entry.endsWith(".owner");
      if (!isTakeover && !isOwnerFile) continue;
      const file = path.join(dir, entry);
      const holder = readHolder(file);
      if (holder.kind === "owner" && holder.owner.token !== this.owner.token && !ownerAlive(holder.owner)) rmSync(file, { force: true });
    }
  }
}

export interface AcquireOptions {
  /** The procman that holds it: defaults to this process. For tests of other owners. */
  readonly owner?: Omit<LockOwner, "token" | "acquiredAt">;
  /** Error to throw when the wait runs out. */
  readonly busy: () => Error;
}

/** Takes the lock at `lockFile` (its directory must exist), waiting up to waitSeconds. */
export async function acquireLock(lockFile: string, waitSeconds: number, options: AcquireOptions): Promise<LockRelease> {
  const self = options.owner ?? ownIdentity();
  const claimant = new Claimant(lockFile, {
    ...self,
    token: randomBytes(9).toString("hex"),
    acquiredAt: new Date().toISOString(),
  });
  const deadline = Date.now() + waitSeconds * 1000;
  claimant.writeOwnerFile();
  try {
    for (;;) {
      if (claimant.claim(lockFile)) break;
      if (Date.now() >= deadline) throw options.busy();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    // The lock file is a hard link to it: removing this name keeps the lock.
    claimant.removeOwnerFile();
  }
  try {
    claimant.sweep();
  } catch {
    // Only tidying.
  }
  return held(claimant);
}

function held(claimant: Claimant): LockRelease {
  const controller = new AbortController();
  let released = false;
  const timer = setInterval(() => {
    let ours = false;
    try {
      ours = claimant.holds();
    } catch {
      return; // unreadable for a moment (e.g. EMFILE): decide on the next check
    }
    if (!ours) {
      clearInterval(timer);
      controller.abort(new LockLostError(claimant.lockFile));
    }
  }, CHECK_MS);
  timer.unref();
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    clearInterval(timer);
    // Never remove a lock that is not ours any more: it would free someone else's.
    claimant.unclaim(claimant.lockFile);
  };
  return Object.assign(release, {
    isHeld: () => !released && claimant.holds(),
    signal: controller.signal,
  });
}

function ownIdentity(): Omit<LockOwner, "token" | "acquiredAt"> {
  const stat = readProcStat(process.pid);
  return { pid: process.pid, startTime: stat?.startTime ?? "", pidNamespace: ownPidNamespace() };
}

/** Who holds the lock now, if anyone alive (for messages). */
export function lockHolder(lockFile: string): LockOwner | undefined {
  try {
    const holder = readHolder(lockFile);
    return holder.kind === "owner" && ownerAlive(holder.owner) ? holder.owner : undefined;
  } catch {
    return undefined;
  }
}
