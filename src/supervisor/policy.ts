// Restart policies, pure: whether an exit is a failure, whether it is restarted, after which delay,
// and when the start limit gives up. No I/O and no clock: the caller passes `now`.
import type { RestartPolicy, RestartSettings } from "../model/types.js";

export type ExitReason = "exit" | "signal" | "liveness" | "unknown";

export interface ExitFacts {
  readonly code: number | null;
  readonly signal: string | null;
  /** exit: it exited by itself; signal: a signal procman did not send; liveness: procman stopped it
   *  for failed checks; unknown: not procman's child (adopted, or a daemon), only its death was seen. */
  readonly reason: ExitReason;
  /** It died before it became ready: a failed start, whatever its code. */
  readonly beforeReady?: boolean;
}

/** on-failure's notion of failure: non-zero, an unsent signal, liveness, unknown, or a failed start. */
export function isFailure(exit: ExitFacts): boolean {
  if (exit.beforeReady === true) return true;
  switch (exit.reason) {
    case "exit":
      return exit.code !== 0;
    case "signal":
    case "liveness":
    case "unknown":
      return true;
  }
}

export function wantsRestart(policy: RestartPolicy, exit: ExitFacts): boolean {
  if (policy === "no") return false;
  return policy === "always" || isFailure(exit);
}

/** What the policy remembers between exits; persisted by the supervisor. */
export interface BackoffState {
  /** Restarts in a row without staying up maxDelay: the exponent of the delay. */
  readonly consecutive: number;
  /** When each recent restart was decided (ms since the epoch), oldest first, within the limit's interval. */
  readonly recent: readonly number[];
}

export const FRESH: BackoffState = { consecutive: 0, recent: [] };

export type Decision =
  | { readonly action: "none" }
  | { readonly action: "failed"; readonly why: string; readonly state: BackoffState }
  | { readonly action: "restart"; readonly delayMs: number; readonly state: BackoffState };

/**
 * After an exit at `now` of a process that was up for `upMs` (null: never became ready): restart
 * after a delay that doubles per consecutive restart, from `delay` up to `maxDelay`, reset once it
 * stayed up `maxDelay`; more than `burst` restarts within `interval` s and it is failed instead.
 */
export function decide(settings: RestartSettings, state: BackoffState, exit: ExitFacts, now: number, upMs: number | null): Decision {
  if (!wantsRestart(settings.policy, exit)) {
    return isFailure(exit) ? { action: "failed", why: describeExit(exit), state } : { action: "none" };
  }
  const windowStart = now - settings.limit.interval * 1000;
  const recent = state.recent.filter((at) => at > windowStart);
  if (recent.length >= settings.limit.burst) {
    return {
      action: "failed",
      why: `start limit: more than ${settings.limit.burst} restarts within ${settings.limit.interval} s (last: ${describeExit(exit)})`,
      state: { consecutive: state.consecutive, recent },
    };
  }
  const settled = upMs !== null && upMs >= settings.maxDelay * 1000;
  const consecutive = settled ? 0 : state.consecutive;
  const delay = Math.min(settings.delay * 2 ** consecutive, settings.maxDelay);
  return {
    action: "restart",
    delayMs: Math.round(Math.max(0, delay) * 1000),
    state: { consecutive: consecutive + 1, recent: [...recent, now] },
  };
}

export function describeExit(exit: ExitFacts): string {
  const early = exit.beforeReady === true ? " before it was ready" : "";
  switch (exit.reason) {
    case "exit":
      return `exited with code ${exit.code}${early}`;
    case "signal":
      return `killed by ${exit.signal}${early}`;
    case "liveness":
      return "stopped: liveness check failed";
    case "unknown":
      return `died${early} (exit status unknown: not procman's child)`;
  }
}

/** The facts of a child's exit as Node reports it. */
export function childExit(code: number | null, signal: string | null): ExitFacts {
  return signal !== null ? { code: null, signal, reason: "signal" } : { code, signal: null, reason: "exit" };
}

/** Whether a deployment needs a supervisor: a restart policy other than "no", or a liveness check. */
export function needsSupervisor(processes: readonly { readonly restart: RestartSettings; readonly liveness?: unknown }[]): boolean {
  return processes.some((spec) => spec.restart.policy !== "no" || spec.liveness !== undefined);
}
