// A model is user code running inside procman. Two ways it used to end procman with exit 0 and
// nothing done: a promise that never settles (Node exits when nothing is left to run) and
// `process.exit()` while it loads. Both are bad input naming the model file (exit 2).
import { Worker } from "node:worker_threads";
import { LoadError } from "../errors.js";

/** Default of `--load-timeout`: how long a model may keep work scheduled before it must be done. */
export const DEFAULT_LOAD_TIMEOUT_SECONDS = 30;

/** Thrown from the intercepted process.exit, so that the model's own code stops there. */
class ModelExitError extends Error {
  constructor(readonly exitCode: unknown) {
    super(`process.exit(${exitCode === undefined ? "" : String(exitCode)}) called by the model`);
  }
}

/**
 * Runs `work` (importing and calling the model) so that:
 * - the event loop draining while it is pending rejects at once (`beforeExit` fires only then);
 * - it still pending after `timeoutSeconds` rejects (work is scheduled but never finishes);
 * - `process.exit` called meanwhile does not exit procman, and rejects, even if the model caught
 *   what it threw.
 */
export async function guardLoad<T>(file: string, timeoutSeconds: number, work: () => Promise<T>): Promise<T> {
  const realExit = process.exit;
  let exitCalled: { code: unknown } | undefined;
  const interceptedExit = ((code?: unknown) => {
    exitCalled ??= { code };
    throw new ModelExitError(code);
  }) as typeof process.exit;
  process.exit = interceptedExit;

  let onDrain: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    onDrain = () =>
      reject(new LoadError(file, "the model never finished loading: its promise is still pending with nothing left that could settle it"));
    process.once("beforeExit", onDrain);
    // Unref'd: it must not keep procman alive by itself, or a drained loop would wait it out.
    timer = setTimeout(
      () => reject(new LoadError(file, `the model did not finish loading within ${timeoutSeconds} s (--load-timeout)`)),
      timeoutSeconds * 1000,
    );
    timer.unref();
  });
  const watchdog = startWatchdog(timeoutSeconds * 1000 + WATCHDOG_GRACE_MS);
  try {
    const result = await Promise.race([work(), stalled]);
    if (exitCalled !== undefined) throw exitError(file, exitCalled.code);
    return result;
  } catch (error) {
    if (exitCalled !== undefined) throw exitError(file, exitCalled.code);
    throw error;
  } finally {
    watchdog.stop();
    if (process.exit === interceptedExit) process.exit = realExit;
    process.removeListener("beforeExit", onDrain!);
    clearTimeout(timer);
  }
}

function exitError(file: string, code: unknown): LoadError {
  const shown = code === undefined ? "" : JSON.stringify(code) ?? String(code);
  return new LoadError(file, `the model called process.exit(${shown}) while loading; a model must export its processes, not exit`);
}

/** After the load timeout, how long the timer gets to fire on its own before the watchdog acts. */
const WATCHDOG_GRACE_MS = 250;

// Runs in a thread of its own: a model stuck in synchronous code (`for (;;) {}`) never lets the
// timeout's timer run. Past its deadline, while the main thread still says it is loading, it ends
// the main thread's running JavaScript through the in-process inspector (no port is opened); the
// overdue timer then rejects, naming the model.
// Connected only then: an inspector session still open when procman exits makes Node print
// "Waiting for the debugger to disconnect..." and wait.
const WATCHDOG_SOURCE = `
const { workerData } = require("node:worker_threads");
const loading = new Int32Array(workerData.flag);
setTimeout(() => {
  if (Atomics.load(loading, 0) !== 1) return;
  const { Session } = require("node:inspector");
  const session = new Session();
  session.connectToMainThread();
  session.post("Runtime.terminateExecution", () => session.disconnect());
}, workerData.ms);
`;

function startWatchdog(ms: number): { stop: () => void } {
  const flag = new SharedArrayBuffer(4);
  const loading = new Int32Array(flag);
  Atomics.store(loading, 0, 1);
  let worker: Worker | undefined;
  try {
    worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { flag, ms }, stdout: true, stderr: true });
    worker.unref();
    worker.on("error", () => undefined); // no inspector in this Node build: the timer alone guards
  } catch {
    worker = undefined;
  }
  return {
    stop: () => {
      Atomics.store(loading, 0, 0);
      void worker?.terminate();
    },
  };
}
