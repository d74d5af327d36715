// The control socket speaks JSON lines: one request per line, one answer per request, by id.
import type { ResolvedProcess } from "../model/types.js";
import type { SupervisorEvent } from "./supervisor.js";

export type Request =
  | { readonly id: number; readonly op: "hello" }
  | { readonly id: number; readonly op: "pause" }
  /** Answered with a ResumeResult once the first look after the pause has been taken. */
  | { readonly id: number; readonly op: "resume" }
  | { readonly id: number; readonly op: "spawn"; readonly spec: ResolvedProcess; readonly specHash: string }
  /** Answered when that child of the supervisor exits (never for a daemon, which is no child). */
  | { readonly id: number; readonly op: "exit"; readonly pid: number }
  | { readonly id: number; readonly op: "expectStop"; readonly names: readonly string[]; readonly operator?: boolean }
  | { readonly id: number; readonly op: "shutdown" };

export type Answer =
  | { readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly process?: string; readonly logOffset?: number } };

/** What a lock holder reports when it hands over (resume): the supervisor's decisions. */
export type HandoverEvent = Extract<SupervisorEvent, { readonly type: "restarting" | "backoff" | "failed" | "unhealthy" }>;

const HANDOVER_TYPES: ReadonlySet<string> = new Set(["restarting", "backoff", "failed", "unhealthy"]);

export function isHandoverEvent(event: SupervisorEvent): event is HandoverEvent {
  return HANDOVER_TYPES.has(event.type);
}

/** The answer to resume: the decisions of the supervisor's first look (see Supervisor.resume). */
export interface ResumeResult {
  readonly events: readonly HandoverEvent[];
}

/** Longest line accepted (a spawn carries a whole resolved process). */
export const MAX_LINE = 4 * 1024 * 1024;

/** Splits a byte stream into lines; refuses a line longer than MAX_LINE. */
export function lineReader(onLine: (line: string) => void, onTooLong: () => void): (chunk: Buffer) => void {
  let pending = "";
  return (chunk) => {
    pending += chunk.toString("utf8");
    let at: number;
    while ((at = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      if (line.trim() !== "") onLine(line);
    }
    if (pending.length > MAX_LINE) {
      pending = "";
      onTooLong();
    }
  };
}
