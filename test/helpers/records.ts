// A process record for the state layer's tests: what procman writes after a start, with made-up values.
import type { ProcessRecord } from "../../src/executor/state-dir.js";

export const record = (name: string, pid = 1234, extra: Partial<ProcessRecord> = {}): ProcessRecord => ({
  name,
  pid,
  startTime: "987654",
  mode: "foreground",
  specHash: "0".repeat(32),
  pidFile: `/run/${name}.pid`,
  stopSignal: "SIGTERM",
  stopTimeout: 10,
  startedAt: new Date(0).toISOString(),
  ...extra,
});
