// One line per supervisor event, for its log and for `procman up`.
import type { SupervisorEvent } from "./supervisor.js";

export function formatEvent(event: SupervisorEvent): string {
  switch (event.type) {
    case "adopted": return `${event.name}: adopted PID ${event.pid}`;
    case "exited": return `${event.name}: PID ${event.pid} ${event.message}`;
    case "backoff": return `${event.name}: restart in ${event.delayMs} ms (at ${event.nextRestartAt})`;
    case "restarting": return `${event.name}: restarting (restart ${event.attempt})`;
    case "started": return `${event.name}: started PID ${event.pid}`;
    case "ready": return `${event.name}: ready (PID ${event.pid})`;
    case "failed": return `${event.name}: failed: ${event.message}`;
    case "unhealthy": return `${event.name}: unhealthy after ${event.failures} failed liveness checks`;
    case "healthy": return `${event.name}: healthy`;
    case "rotated": return `${event.name}: log rotated (${event.how})`;
    case "error": return `error: ${event.message}`;
  }
}
