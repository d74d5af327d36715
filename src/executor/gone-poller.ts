// One poller for every stop that waits until its process (and, for a group leader, its group) is
// gone: 500 stops are 500 waiters of one round, not 500 timers each reading /proc. A round asks
// kill(pid, 0) and kill(-pgid, 0) first: ESRCH means gone without reading anything. Success only
// says "look" (a zombie answers too), and the waiters that must look read their own
// /proc/PID/stat; a dead leader whose group still answers after a grace for its reaping needs a
// scan of /proc, at most one per round and spaced by what the last took (one serves every leader
// seen dead before it began). Rounds back off from 1 to 20 ms and start again at 1 ms
// whenever a new stop begins to wait.
import { checkIdentity, groupMaybeAlive, liveGroups, pidMaybeAlive, type ProcessIdentity } from "./proc.js";

interface Waiter {
  readonly identity: ProcessIdentity;
  readonly group: boolean;
  readonly deadline: number;
  /** performance.now() when its leader was first seen dead (a zombie) while the group still answered. */
  deadAt?: number;
  readonly settle: (gone: boolean) => void;
}

const FIRST_PAUSE = 1;
const LAST_PAUSE = 20;

const waiters = new Set<Waiter>();
let timer: NodeJS.Timeout | undefined;
let due = 0;
let pause = FIRST_PAUSE;

/**
 * Resolves true once the process is dead (a zombie counts as dead) or its PID names another
 * process, and, with `group`, nothing live is left in the group it leads; false after `ms`.
 */
export function waitGone(identity: ProcessIdentity, group: boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    waiters.add({ identity, group, deadline: Date.now() + ms, settle: resolve });
    pause = FIRST_PAUSE;
    schedule(FIRST_PAUSE);
  });
}

function schedule(ms: number): void {
  const at = Date.now() + ms;
  if (timer !== undefined) {
    if (due <= at) return;
    clearTimeout(timer);
  }
  due = at;
  timer = setTimeout(round, ms);
}

function round(): void {
  timer = undefined;
  const now = Date.now();
  for (const waiter of waiters) {
    const gone = isGone(waiter);
    if (gone || now >= waiter.deadline) {
      waiters.delete(waiter);
      waiter.settle(gone);
    }
  }
  if (waiters.size === 0) return;
  // Gently (×1.5): a process dies within a few ms of its signal, and a round is cheap (kill(2) calls).
  pause = Math.min(pause * 1.5, LAST_PAUSE);
  // A waiter held back only by the spacing of scans is looked at again as soon as one may begin.
  const scanIn = scanWanted ? Math.ceil(nextScan - performance.now()) : Infinity;
  scanWanted = false;
  schedule(Math.max(1, Math.min(pause, scanIn)));
}

// A dead leader whose group still answers is most often a zombie its parent has yet to reap, after
// which kill(-pgid, 0) answers alone; until then only a /proc scan can tell whether a live member
// is left. A parent that reaps at once (the supervisor, procman, a usual init) does so within a
// millisecond; an init that reaps late (every 2 s on the VM of the bench) would hold every stop —
// and in a DAG every layer — for the whole grace: one scan (a few ms) answers every waiter instead.
const ZOMBIE_GRACE = 1;

function isGone(waiter: Waiter): boolean {
  const { identity, group } = waiter;
  // The cheap answers first: no such process (and no such group) at all.
  const groupAnswers = group && groupMaybeAlive(identity.pid);
  if (!groupAnswers && !pidMaybeAlive(identity.pid)) return true;
  const now = performance.now();
  // Seen dead before, and its PID still answers: its zombie (a PID is not reused before the reap),
  // so there is nothing to read about it again. Reaped since: the full look.
  if (waiter.deadAt === undefined || !pidMaybeAlive(identity.pid)) {
    const check = checkIdentity(identity);
    // A reused PID means the old group was empty when the kernel handed the number out again.
    if (check === "reused") return true;
    if (check !== "dead") return false;
    if (!groupAnswers) return true;
    waiter.deadAt ??= now;
  }
  if (now - waiter.deadAt < ZOMBIE_GRACE) return false;
  return groupGoneSince(identity.pid, waiter.deadAt, now);
}

// The last /proc scan for live groups, and when the next may begin: a scan reads every process on
// the machine (a few ms), so the poller spends at most half its time scanning, and one scan serves
// every waiter whose leader was seen dead before it began (in a DAG, each layer needs its own).
let lastScan: { readonly at: number; readonly groups: ReadonlySet<number> } | undefined;
let nextScan = 0;
let scanWanted = false;

/**
 * Whether a scan begun after `deadAt` (when the leader was seen dead: an older scan lists the
 * leader itself) finds no live member of the group. Absent once is absent for good: only a live
 * member could bring one back. Present: a later scan, once the spacing allows, looks again.
 */
function groupGoneSince(pgid: number, deadAt: number, now: number): boolean {
  if (lastScan !== undefined && lastScan.at > deadAt && !lastScan.groups.has(pgid)) return true;
  if (now < nextScan) {
    scanWanted = true;
    return false;
  }
  const at = performance.now();
  const groups = liveGroups(at);
  const done = performance.now();
  lastScan = { at, groups };
  nextScan = done + (done - at);
  return !groups.has(pgid);
}
