// Human and JSON renderings of the executor's events: one line per event, as it happens.
import type { SupervisorDecision, SwitchEvent } from "../executor/events.js";
import { formatEvent } from "../supervisor/format-event.js";
import type { Plan } from "../plan/plan.js";
import { describeReason } from "../plan/reason.js";
import type { Output } from "./output.js";

const paint = (io: Output, code: number, text: string) => (io.colour ? `\u001b[${code}m${text}\u001b[0m` : text);

export function renderPlan(plan: Plan): string {
  const lines: string[] = [];
  const section = (title: string, steps: Plan["stop"]) => {
    if (steps.length === 0) return;
    lines.push(`${title}:`);
    for (const step of steps) lines.push(`  ${step.name}: ${describeReason(step.reason)}`);
  };
  section("stop (dependents first)", plan.stop);
  section("forget (records of processes that are gone)", plan.forget);
  section("start (dependencies first)", plan.start);
  section("keep", plan.keep);
  if (lines.length === 0) lines.push("nothing to do");
  return `${lines.join("\n")}\n`;
}

export function eventRenderer(io: Output, options: { json: boolean; dryRun?: boolean }): (event: SwitchEvent) => void {
  // The lines every stop and start prints, 1,000 for 500 processes: batched per turn (output.ts).
  // Only what reports something done waits ("starting X" is out before X starts).
  const soon = (text: string) => (io.outSoon !== undefined ? io.outSoon(text) : io.out(text));
  const batched = new Set<SwitchEvent["type"]>(["stopping", "stopped", "started", "ready"]);
  if (options.json) {
    return (event) => {
      const line = `${JSON.stringify(event)}\n`;
      if (batched.has(event.type)) soon(line);
      else io.out(line);
    };
  }
  return (event) => {
    switch (event.type) {
      case "plan": {
        const { plan } = event;
        if (options.dryRun === true) {
          io.out(renderPlan(plan));
          if (event.install !== undefined && event.install.length > 0) {
            io.out("files (installed or kept):\n");
            for (const file of event.install) io.out(`  ${file.path}${file.link !== undefined ? ` -> ${file.link}` : ""}\n`);
          }
        }
        else io.out(`plan: stop ${plan.stop.length}, start ${plan.start.length}, keep ${plan.keep.length}\n`);
        return;
      }
      case "recovering":
        return io.err(`${paint(io, 33, "recovering")}: ${event.message}\n`);
      case "forgotten":
        return io.out(`forgot ${event.name}: ${describeReason(event.reason)}\n`);
      case "stopping":
        return soon(`stopping ${event.name}${event.pid > 0 ? ` (PID ${event.pid})` : ""}: ${describeReason(event.reason)}\n`);
      case "stopped":
        return soon(`stopped ${event.name} in ${event.ms} ms${event.killed ? " (SIGKILL after the stop timeout)" : ""}\n`);
      case "starting":
        return io.out(`starting ${event.name}: ${describeReason(event.reason)}\n`);
      case "started":
        return soon(`started ${event.name}${event.pid > 0 ? ` (PID ${event.pid})` : ""}\n`);
      case "ready":
        return soon(`${paint(io, 32, "ready")} ${event.name} in ${event.ms} ms\n`);
      case "restarting":
      case "backoff":
      case "unhealthy":
        return supervisorLine(io, event);
      case "failed": {
        if (event.source === "supervisor") return supervisorLine(io, event);
        // The error itself is printed once, by the CLI, when the switch has been undone.
        io.err(`${paint(io, 31, "failed")} ${event.name}\n`);
        if (event.logTail !== "") io.err(`--- end of ${event.name}'s log ---\n${event.logTail}\n---\n`);
        return;
      }
      case "undoing":
        return io.err(`undo: ${event.message}\n`);
      case "done":
        return io.out(event.generation === undefined ? `done in ${event.ms} ms\n` : `done: generation ${event.generation} in ${event.ms} ms\n`);
    }
  };
}

/** The supervisor's decision at the hand-over, as its own log says it (a warning: the command succeeded). */
function supervisorLine(io: Output, event: SupervisorDecision): void {
  const { source: _source, ...own } = event;
  const colour = event.type === "backoff" || event.type === "restarting" ? 33 : 31;
  io.err(`${paint(io, colour, "supervisor")}: ${formatEvent(own)}\n`);
}
