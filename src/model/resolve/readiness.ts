// readiness: when a started process counts as ready. Exactly one kind of check, with its timing.
import path from "node:path";
import { checkKnownKeys, checkLine, checkNumber, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import type { ProcessMode, Readiness } from "../types.js";
import { optionalSeconds, resolveHttp, resolveShell, resolveTcp } from "./probes.js";
import { isInside } from "./paths.js";

export const READINESS_KINDS = ["pidFile", "tcp", "http", "command", "logLine", "file", "notify"] as const;

export interface ReadinessContext {
  readonly mode: ProcessMode;
  readonly pidFile: string;
  readonly logFile: string;
  /** What a relative `file` is taken relative to: the process's directory, else the model's. */
  readonly fileBase: string;
  /** procman's own records: never a readiness file (procman removes it before each start). */
  readonly recordsDir: string;
  /** Why a path is one of procman's directories (or above one), if it is. */
  readonly directoryProblem: (file: string) => string | undefined;
}

export function resolveReadiness(raw: unknown, where: ReadinessContext, report: Report): Readiness {
  const timing: { timeout: number; interval: number } = { timeout: DEFAULTS.readinessTimeout, interval: DEFAULTS.readinessInterval };
  const fallback: Readiness = where.mode === "daemon" ? { kind: "pidFile", path: where.pidFile, ...timing } : { kind: "started", ...timing };
  if (raw === undefined) return fallback;
  if (!isPlainObject(raw)) {
    report("readiness", `must be an object such as { tcp: { port: 8080 } } (got ${describeValue(raw)})`);
    return fallback;
  }
  checkKnownKeys(raw, [...READINESS_KINDS, "timeout", "interval"], "readiness", report);
  const timeout = optionalSeconds(raw.timeout, "readiness.timeout", 86400, report);
  const interval = optionalSeconds(raw.interval, "readiness.interval", 3600, report);
  timing.timeout = timeout ?? DEFAULTS.readinessTimeout;
  timing.interval = interval ?? DEFAULTS.readinessInterval;
  // Compared only when both are valid, so that one bad value is reported once.
  if (timeout !== null && interval !== null && timing.interval > timing.timeout) {
    report("readiness.interval", `(${timing.interval} s) is longer than readiness.timeout (${timing.timeout} s)`);
  }
  const kinds = READINESS_KINDS.filter((kind) => raw[kind] !== undefined);
  if (kinds.length > 1) {
    report("readiness", `has ${kinds.join(" and ")}; give exactly one kind of check`);
    return fallback;
  }
  const kind = kinds[0];
  if (kind === undefined) {
    if (where.mode === "foreground" && (raw.timeout !== undefined || raw.interval !== undefined)) {
      report("readiness", `sets a timeout but no check: add one of ${READINESS_KINDS.join(", ")}`);
    }
    return { ...fallback, ...timing };
  }
  const value = raw[kind];
  switch (kind) {
    case "pidFile":
      if (value !== true) report("readiness.pidFile", `must be true (got ${describeValue(value)}); the PID file is the process's pidFile`);
      return { kind, path: where.pidFile, ...timing };
    case "tcp": {
      const { host, port, raw: tcp } = resolveTcp(value, "readiness.tcp", report, ["owned"]);
      let owned = true;
      if (tcp.owned !== undefined) {
        if (typeof tcp.owned === "boolean") owned = tcp.owned;
        else report("readiness.tcp.owned", `must be true or false (got ${describeValue(tcp.owned)})`);
      }
      return { kind, host, port, owned, ...timing };
    }
    case "http":
      return { kind, ...resolveHttp(value, "readiness.http", report), ...timing };
    case "command":
      return { kind, command: resolveShell(value, "readiness.command", report), ...timing };
    case "logLine": {
      const pattern = checkLine(value, "readiness.logLine", report) ?? "";
      try {
        new RegExp(pattern);
      } catch (error) {
        report("readiness.logLine", `is not a valid regular expression: ${(error as Error).message}`);
      }
      return { kind, pattern, ...timing };
    }
    case "file":
      return { kind, path: resolveReadinessFile(value, where, report), ...timing };
    case "notify": {
      const fd = checkNumber(value, "readiness.notify", report, { min: 3, max: 255, integer: true }) ?? 3;
      if (where.mode === "daemon") {
        report("readiness.notify", "needs a foreground process: a daemon forks away from the descriptor procman would read");
      }
      return { kind, fd, ...timing };
    }
  }
}

function resolveReadinessFile(value: unknown, where: ReadinessContext, report: Report): string {
  const text = checkLine(value, "readiness.file", report);
  if (text === undefined) return "";
  const file = path.resolve(where.fileBase, text);
  // procman removes a readiness file before each start, so it must not be a file procman keeps.
  const directory = where.directoryProblem(file);
  if (isInside(file, where.recordsDir)) report("readiness.file", `${file} is inside procman's own records (${where.recordsDir})`);
  else if (directory !== undefined) report("readiness.file", `${file} ${directory}`);
  else if (file === where.pidFile) report("readiness.file", `${file} is the process's pidFile; name a file of its own`);
  else if (file === where.logFile) report("readiness.file", `${file} is the process's log; use readiness.logLine to wait for a line`);
  return file;
}
