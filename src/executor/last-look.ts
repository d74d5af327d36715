// The default check (`started`: alive `interval` s after the start) of a process that no other
// start of the switch waits for gates nothing: the switch does not wait out its interval. All such
// processes are looked at once, together, when the switch's youngest one has lived LAST_LOOK_MS:
// one that died by then — one that exits at once, or any that died during the switch — fails the
// switch (and is undone with the rest); one that dies later shows in `status` (and, supervised, is
// restarted by its policy). A bring-up of 500 independent processes ended 100 ms after its last
// spawn before; now 20 ms.
import type { ResolvedProcess } from "../model/types.js";
import type { EventSink } from "./events.js";
import { describeExit, logTail, type Launched } from "./launch.js";
import { checkIdentity, stillRuns } from "./proc.js";
import { sleep } from "./readiness.js";
import type { ProcessRecord } from "./state-dir.js";
import { SwitchFailedError } from "./switch-result.js";

/** A process that exits within this many ms of its start always fails the switch. */
export const LAST_LOOK_MS = 20;

export interface Unawaited {
  readonly spec: ResolvedProcess;
  readonly record: ProcessRecord;
  readonly launched: Launched;
  /** Date.now() when its start began (the "ready" event's ms). */
  readonly began: number;
  /** performance.now() once procman knew its PID (after the fork: its age is at least this old). */
  readonly known: number;
}

/**
 * Looks at every one of `batch` once the youngest is LAST_LOOK_MS old: "ready" for the live ones,
 * "failed" for the dead; throws the first failure after all were looked at (their PID files written).
 */
export async function lastLook(batch: readonly Unawaited[], onEvent: EventSink, signal: AbortSignal): Promise<void> {
  if (batch.length === 0) return;
  let youngest = 0;
  for (const entry of batch) youngest = Math.max(youngest, entry.known);
  const wait = youngest + LAST_LOOK_MS - performance.now();
  if (wait > 0) await sleep(wait, signal);
  const now = performance.now();
  const dead = signal.aborted ? [] : batch.filter((entry) => !stillRuns(checkIdentity(entry.record)));
  // Written before anything stops them (a stop removes the PID file naming it; a late write would stay).
  const written = await Promise.allSettled(batch.map((entry) => entry.launched.pidFileWritten));
  if (signal.aborted) throw new SwitchFailedError("aborted");
  let failure: SwitchFailedError | undefined;
  for (const entry of dead) {
    const status = await Promise.race([entry.launched.exit, sleep(500).then(() => undefined)]);
    const age = ((now - entry.known) / 1000).toFixed(2);
    const message = `${describeExit(status)} within ${age} s of its start (nothing waits for it: looked at once the switch's last start was ${LAST_LOOK_MS} ms old)`;
    onEvent({ type: "failed", name: entry.spec.name, message, logTail: logTail(entry.spec.logFile, entry.launched.logOffset) });
    failure ??= new SwitchFailedError(`${entry.spec.name}: ${message}`);
  }
  const isDead = new Set(dead);
  batch.forEach((entry, index) => {
    if (isDead.has(entry)) return;
    const outcome = written[index]!;
    if (outcome.status === "rejected") {
      const message = (outcome.reason as Error).message;
      onEvent({ type: "failed", name: entry.spec.name, message, logTail: "" });
      failure ??= new SwitchFailedError(`${entry.spec.name}: ${message}`);
      return;
    }
    onEvent({ type: "ready", name: entry.spec.name, pid: entry.record.pid, ms: Date.now() - entry.began });
  });
  if (failure !== undefined) throw failure;
}
