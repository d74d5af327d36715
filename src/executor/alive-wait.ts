// readiness `started` (the default): a process is ready once it is still alive `interval` s after
// its start. A switch of 500 such processes used to run 500 wait loops, each with its own timers
// and two /proc reads; here every pending wait of this procman shares one queue and one timer: the
// timer fires when the earliest is due, and that firing looks once at every wait due by then (a
// burst of spawns is due in a burst). A process is looked at no earlier than its due time, never
// before: one that exits in 20 ms of a 100 ms interval is dead at its look and fails.
import { onAbort } from "./abort-listeners.js";
import { checkIdentity, stillRuns, type ProcessIdentity } from "./proc.js";

export type AliveOutcome = "alive" | "dead" | "abandoned";

interface Pending {
  readonly identity: ProcessIdentity;
  readonly due: number;
  readonly resolve: (outcome: AliveOutcome) => void;
  unlisten: (() => void) | undefined;
  settled: boolean;
}

/** Pending waits by due time (ascending): appended in order when every interval is the same. */
const queue: Pending[] = [];
let timer: NodeJS.Timeout | undefined;
let timerDue = Infinity;
let looks = 0;

/**
 * Resolves "alive" when the process still runs `ms` from now (looked at then, or a little later
 * when the loop is busy), "dead" when it does not, "abandoned" once the signal aborts.
 */
export function aliveAfter(identity: ProcessIdentity, ms: number, signal?: AbortSignal): Promise<AliveOutcome> {
  if (signal?.aborted === true) return Promise.resolve("abandoned");
  // A monotonic clock: a wall-clock step must not stretch or cut the interval.
  const due = performance.now() + ms;
  return new Promise((resolve) => {
    const pending: Pending = { identity, due, resolve, unlisten: undefined, settled: false };
    if (signal !== undefined) pending.unlisten = onAbort(signal, () => abandon(pending));
    let at = queue.length;
    while (at > 0 && queue[at - 1]!.due > due) at--;
    if (at === queue.length) queue.push(pending);
    else queue.splice(at, 0, pending);
    arm();
  });
}

/** How many looks the shared queue has made since this procman started. */
export function aliveLooks(): number {
  return looks;
}

/** How many waits are queued (an abandoned one leaves at once: no timer kept for it). */
export function alivePending(): number {
  return queue.length;
}

function settle(pending: Pending, outcome: AliveOutcome): void {
  if (pending.settled) return;
  pending.settled = true;
  pending.unlisten?.();
  pending.resolve(outcome);
}

/** Out of the queue at once: a timer left for it would keep procman alive until its due time. */
function abandon(pending: Pending): void {
  settle(pending, "abandoned");
  const at = queue.indexOf(pending);
  if (at >= 0) queue.splice(at, 1);
  arm();
}

function arm(): void {
  if (queue.length === 0) {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    timerDue = Infinity;
    return;
  }
  const due = queue[0]!.due;
  if (timer !== undefined && timerDue <= due) return;
  if (timer !== undefined) clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(look, Math.max(0, due - performance.now()));
}

function look(): void {
  timer = undefined;
  timerDue = Infinity;
  looks++;
  const now = performance.now();
  let taken = 0;
  while (taken < queue.length && queue[taken]!.due <= now) taken++;
  const due = queue.splice(0, taken);
  for (const pending of due) {
    if (pending.settled) continue;
    settle(pending, stillRuns(checkIdentity(pending.identity)) ? "alive" : "dead");
  }
  arm();
}
