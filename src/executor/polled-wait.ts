// A readiness wait whose check is one or two system calls (a file test, a file, a PID file, a log
// scan) needs no async loop: a layer of 50 such waits polled every 20 ms made 2,500 promises, abort
// listeners and sleeps a second. Here a wait is one promise, polled by a timer shared with every
// wait of the same interval, and woken by inotify (dir-watch.ts) when what it looks at changes;
// the poll stays the fallback.
import { onAbort } from "./abort-listeners.js";
import { watchEntry, type DirSubscription } from "./dir-watch.js";
import { checkIdentity, stillRuns, type ProcessIdentity } from "./proc.js";

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly why: string };

export type PolledOutcome =
  | { readonly kind: "ready" }
  | { readonly kind: "dead" }
  | { readonly kind: "timeout"; readonly why: string }
  | { readonly kind: "abandoned" }
  | { readonly kind: "error"; readonly error: unknown };

export interface WatchTarget {
  readonly directory: string;
  readonly name: string;
}

export interface PolledWait {
  readonly identity: ProcessIdentity;
  /** Synchronous: it runs in a timer or an inotify callback. */
  readonly check: () => CheckResult;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly targets: readonly WatchTarget[];
  readonly signal?: AbortSignal | undefined;
}

/**
 * The polls of every wait with the same interval share one timer: a layer of 50 waits polled every
 * 20 ms wakes procman 50 times a second, not 2,500. A wait joins after its first check, so its
 * next poll comes within one interval (a wait nearer its deadline than that polls on a timer of
 * its own, at the deadline).
 */
interface Ticker {
  readonly polls: Set<() => void>;
  readonly timer: NodeJS.Timeout;
}

const tickers = new Map<number, Ticker>();

/** How many shared poll timers run now (for tests: one per interval, none once every wait ended). */
export function pollTimerCount(): number {
  return tickers.size;
}

function join(intervalMs: number, poll: () => void): void {
  let ticker = tickers.get(intervalMs);
  if (ticker === undefined) {
    const polls = new Set<() => void>();
    ticker = { polls, timer: setInterval(() => { for (const each of polls) each(); }, intervalMs) };
    tickers.set(intervalMs, ticker);
  }
  ticker.polls.add(poll);
}

function leave(intervalMs: number, poll: () => void): void {
  const ticker = tickers.get(intervalMs);
  if (ticker === undefined || !ticker.polls.delete(poll) || ticker.polls.size > 0) return;
  clearInterval(ticker.timer);
  tickers.delete(intervalMs);
}

/**
 * Checks at once, then on every change of a target and at least every interval, until the check
 * passes (and the process still runs: "ready"), the process dies, the timeout runs out or the
 * signal aborts. A death is noticed within 100 ms (or the interval, if longer), not on every poll:
 * /proc reads add up over a wide layer; launch has just looked, so the first look is 100 ms on.
 */
export function pollUntilReady(wait: PolledWait): Promise<PolledOutcome> {
  const { identity, check, intervalMs, targets, signal } = wait;
  if (signal?.aborted === true) return Promise.resolve({ kind: "abandoned" });
  return new Promise((resolve) => {
    const deadline = Date.now() + wait.timeoutMs;
    const subscriptions: (DirSubscription | undefined)[] = [];
    let timer: NodeJS.Timeout | undefined;
    let lookedAt = Date.now();
    let done = false;
    let queued = false;
    let unlisten: (() => void) | undefined;

    const finish = (outcome: PolledOutcome): void => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      leave(intervalMs, poll);
      for (const subscription of subscriptions) subscription?.close();
      unlisten?.();
      resolve(outcome);
    };
    // The events of one read of inotify (a write, then a rename into place) make one check.
    const wake = (): void => {
      if (done || queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        poll();
      });
    };
    const watch = (): void => {
      // A directory that was missing may be there now (the process made it).
      for (let index = 0; index < targets.length; index++) {
        const target = targets[index]!;
        subscriptions[index] ??= watchEntry(target.directory, target.name, wake);
      }
    };
    const poll = (): void => {
      if (done) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      try {
        if (Date.now() - lookedAt >= 100) {
          if (!stillRuns(checkIdentity(identity))) return finish({ kind: "dead" });
          lookedAt = Date.now();
        }
        const result = check();
        // Dead when it would be declared ready: never ready (a file or line left behind).
        if (result.ok) return finish(stillRuns(checkIdentity(identity)) ? { kind: "ready" } : { kind: "dead" });
        const now = Date.now();
        if (now >= deadline) return finish({ kind: "timeout", why: result.why });
        watch();
        if (deadline - now > intervalMs) join(intervalMs, poll);
        else {
          leave(intervalMs, poll);
          timer = setTimeout(poll, deadline - now);
        }
      } catch (error) {
        finish({ kind: "error", error });
      }
    };

    if (signal !== undefined) unlisten = onAbort(signal, () => finish({ kind: "abandoned" }));
    // Watched before the first check: a change during it wakes the wait again.
    watch();
    poll();
  });
}
