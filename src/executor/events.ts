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
  | { readonly type: "failed"; readonly name: string; readonly message: string; readonly logTail: string }
  | { readonly type: "undoing"; readonly message: string }
  | { readonly type: "done"; readonly generation: number | undefined; readonly ms: number };

export type EventSink = (event: SwitchEvent) => void;
