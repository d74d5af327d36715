// liveness: when a running, ready process counts as hung. Exactly one kind of check, with its timing.
import { checkKnownKeys, checkNumber, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import type { Liveness } from "../types.js";
import { optionalSeconds, resolveHttp, resolveShell, resolveTcp } from "./probes.js";

export const LIVENESS_KINDS = ["tcp", "http", "command", "logWithin"] as const;

export function resolveLiveness(raw: unknown, report: Report): Liveness | undefined {
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) {
    report("liveness", `must be an object such as { http: { url: "http://127.0.0.1:8080/health" } } (got ${describeValue(raw)})`);
    return undefined;
  }
  checkKnownKeys(raw, [...LIVENESS_KINDS, "interval", "timeout", "failures"], "liveness", report);
  // timeout may exceed interval: the next check then waits for the one in flight.
  const timing = {
    interval: optionalSeconds(raw.interval, "liveness.interval", 86400, report) ?? DEFAULTS.livenessInterval,
    timeout: optionalSeconds(raw.timeout, "liveness.timeout", 3600, report) ?? DEFAULTS.livenessTimeout,
    failures:
      raw.failures === undefined
        ? DEFAULTS.livenessFailures
        : (checkNumber(raw.failures, "liveness.failures", report, { min: 1, max: 1000, integer: true }) ?? DEFAULTS.livenessFailures),
  };
  const kinds = LIVENESS_KINDS.filter((kind) => raw[kind] !== undefined);
  if (kinds.length !== 1) {
    report(
      "liveness",
      kinds.length === 0
        ? `has no check: give one of ${LIVENESS_KINDS.join(", ")}`
        : `has ${kinds.join(" and ")}; give exactly one kind of check`,
    );
    return undefined;
  }
  const kind = kinds[0]!;
  const value = raw[kind];
  switch (kind) {
    case "tcp": {
      const { host, port } = resolveTcp(value, "liveness.tcp", report);
      return { kind, host, port, ...timing };
    }
    case "http":
      return { kind, ...resolveHttp(value, "liveness.http", report), ...timing };
    case "command":
      return { kind, command: resolveShell(value, "liveness.command", report), ...timing };
    case "logWithin": {
      const seconds = optionalSeconds(value, "liveness.logWithin", 86400 * 7, report) ?? 1;
      return { kind, seconds, ...timing };
    }
  }
}
