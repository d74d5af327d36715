// stop: the signal that asks a process to stop, how long to wait before SIGKILL, the reload signal.
import { checkKnownKeys, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import { SIGNALS, normalizeSignal } from "../signals.js";
import type { ResolvedProcess } from "../types.js";
import { optionalSeconds } from "./probes.js";

export function resolveStop(raw: unknown, report: Report): ResolvedProcess["stop"] {
  const fallback = { signal: DEFAULTS.stopSignal, timeout: DEFAULTS.stopTimeout, reloadSignal: DEFAULTS.reloadSignal };
  if (raw === undefined) return fallback;
  if (!isPlainObject(raw)) {
    report("stop", `must be an object such as { signal: "SIGINT", timeout: 20 } (got ${describeValue(raw)})`);
    return fallback;
  }
  checkKnownKeys(raw, ["signal", "timeout", "reloadSignal"], "stop", report);
  return {
    signal: signal(raw, "signal", DEFAULTS.stopSignal, report),
    timeout: optionalSeconds(raw.timeout, "stop.timeout", 86400, report) ?? DEFAULTS.stopTimeout,
    reloadSignal: signal(raw, "reloadSignal", DEFAULTS.reloadSignal, report),
  };
}

function signal(raw: Record<string, unknown>, field: "signal" | "reloadSignal", defaultSignal: string, report: Report): string {
  if (raw[field] === undefined) return defaultSignal;
  const normalized = normalizeSignal(raw[field]);
  if (normalized === undefined) {
    report(`stop.${field}`, `${describeValue(raw[field])} is not a signal name (one of ${SIGNALS.join(", ")})`);
  }
  return normalized ?? defaultSignal;
}
