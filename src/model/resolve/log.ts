// log: the size cap of a process's log and how many rotated files are kept.
import { checkKnownKeys, checkNumber, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import type { ResolvedProcess } from "../types.js";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
const MAX_SIZE = 1024 ** 4; // 1 TiB: anything above is a typo, not a log cap
const SIZE = /^([0-9]+)([KMG]?)$/i;

export function resolveLog(raw: unknown, report: Report): ResolvedProcess["log"] {
  const fallback = { maxSize: DEFAULTS.logMaxSize, keep: DEFAULTS.logKeep };
  if (raw === undefined) return fallback;
  if (!isPlainObject(raw)) {
    report("log", `must be an object such as { maxSize: "10M", keep: 3 } (got ${describeValue(raw)})`);
    return fallback;
  }
  checkKnownKeys(raw, ["maxSize", "keep"], "log", report);
  const maxSize = raw.maxSize === undefined ? fallback.maxSize : (parseSize(raw.maxSize, "log.maxSize", report) ?? fallback.maxSize);
  const keep =
    raw.keep === undefined ? fallback.keep : (checkNumber(raw.keep, "log.keep", report, { min: 1, max: 100, integer: true }) ?? fallback.keep);
  return { maxSize, keep };
}

/** Bytes: a number, or digits with K, M or G (powers of 1024). */
export function parseSize(raw: unknown, field: string, report: Report): number | undefined {
  const hint = 'a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate)';
  let bytes: number;
  if (typeof raw === "number") {
    if (!Number.isInteger(raw) || raw < 0) {
      report(field, `must be ${hint} (got ${describeValue(raw)})`);
      return undefined;
    }
    bytes = raw;
  } else if (typeof raw === "string") {
    const match = SIZE.exec(raw.trim());
    if (match === null) {
      report(field, `must be ${hint} (got ${describeValue(raw)})`);
      return undefined;
    }
    bytes = Number(match[1]) * UNITS[match[2]!.toUpperCase()]!;
  } else {
    report(field, `must be ${hint} (got ${describeValue(raw)})`);
    return undefined;
  }
  if (bytes > MAX_SIZE) {
    report(field, `must be at most 1024G (got ${describeValue(raw)})`);
    return undefined;
  }
  return bytes;
}
