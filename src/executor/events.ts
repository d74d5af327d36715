// What the executor reports as it works; the CLI renders these as lines or JSON.
import type { Plan, PlanReason } from "../plan/plan.js";

export type SwitchEvent =
  | { readonly type: "recovering"; readonly message: string }
  | { readonly type: "plan"; readonly plan: Plan; readonly install?: readonly { readonly path: string; readonly link?: string | undefined }[] }
  | { readonly type: "stopping"; readonly name: string; readonly pid: number; readonly reason: PlanReason }
  | { readonly type: "stopped"; readonly name: string; readonly pid: number; readonly ms: number; readonly killed: boolean }
  | { readonly type: "forgotten"; readonly name: string; readonly reason: PlanReason }
  | { readonly type: "starting"; readonly name: string; readonly reason: PlanReason }
  | { readonly type: "started"; readonly name: string; readonly pid: number }
  | { readonly type: "ready"; readonly name: string; readonly pid: number; readonly ms: number }
  /** The command could not start it (or it never became ready): the command is undone. */
  | { readonly type: "failed"; readonly source?: undefined; readonly name: string; readonly message: string; readonly logTail: string }
  | { readonly type: "undoing"; readonly message: string }
  | SupervisorDecision
  | { readonly type: "done"; readonly generation: number | undefined; readonly ms: number };

/**
 * What the supervisor decided when the command handed over to it (its first look, before "done"):
 * a process that died during the command is in backoff (or restarting at once, delay 0), or failed
 * (its policy or its start limit gives up). The fields are the supervisor's own events'.
 */
export type SupervisorDecision =
  | { readonly type: "restarting"; readonly source: "supervisor"; readonly name: string; readonly attempt: number }
  | { readonly type: "backoff"; readonly source: "supervisor"; readonly name: string; readonly delayMs: number; readonly nextRestartAt: string }
  | { readonly type: "failed"; readonly source: "supervisor"; readonly name: string; readonly message: string }
  | { readonly type: "unhealthy"; readonly source: "supervisor"; readonly name: string; readonly failures: number };

export type EventSink = (event: SwitchEvent) => void;
