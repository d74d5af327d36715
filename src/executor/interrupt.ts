// SIGINT, SIGTERM and SIGHUP while a command changes what runs. A switch (rollback, start,
// restart) is undone like a failure and exits 128 + the signal's number; a stop completes instead
// (undoing it would restart what the operator wants gone). A second signal abandons the undo: the
// journal stays behind, and the next command recovers from it.
import { ProcmanError } from "../errors.js";

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type InterruptSignal = keyof typeof EXIT_CODES;

export class InterruptedError extends ProcmanError {
  constructor(readonly signalName: InterruptSignal, what: string) {
    super("EINTERRUPTED", `interrupted by ${signalName}: ${what}`, EXIT_CODES[signalName]);
  }
}

export interface Interrupts {
  /** Aborted at the first signal. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: () => InterruptSignal | undefined;
  dispose(): void;
}

/**
 * mode "undo": the first signal aborts the work, which is then undone. mode "complete": the work
 * goes on to its end (stop) and the signal is reported afterwards. Either way a second signal
 * abandons at once.
 */
export function catchInterrupts(mode: "undo" | "complete", onNotice: (message: string) => void): Interrupts {
  const abort = new AbortController();
  let first: InterruptSignal | undefined;
  const handler = (name: InterruptSignal) => {
    if (first === undefined) {
      first = name;
      onNotice(
        mode === "undo"
          ? `${name}: undoing what this command changed (send it again to abandon the undo)`
          : `${name}: completing the stop first (send it again to abandon it)`,
      );
      abort.abort(name);
      return;
    }
    onNotice(`${name} again: abandoning; the next procman command recovers from the journal`);
    // The one exit outside the CLI: the operator insists, and the journal left behind is exactly
    // what the next command recovers from.
    process.exit(EXIT_CODES[first]);
  };
  const listeners = (Object.keys(EXIT_CODES) as InterruptSignal[]).map((name) => {
    const listener = () => handler(name);
    process.on(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: abort.signal,
    received: () => first,
    dispose: () => {
      for (const [name, listener] of listeners) process.off(name, listener);
    },
  };
}
