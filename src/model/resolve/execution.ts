// How the process is run besides its command: working directory, file mode mask, priority.
import path from "node:path";
import { checkLine, checkNumber, describeValue, type Report } from "../checks.js";

/** A path given in the model, made absolute against `base`. */
export function resolveAbsolute(raw: unknown, field: string, base: string, report: Report): string | undefined {
  if (raw === undefined) return undefined;
  const text = checkLine(raw, field, report);
  return text === undefined ? undefined : path.resolve(base, text);
}

export function resolveUmask(raw: unknown, report: Report): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "number") {
    report("umask", `must be an octal string such as "022" (got number ${raw}, which is ambiguous: YAML reads 022 as twenty-two)`);
    return undefined;
  }
  if (typeof raw !== "string" || !/^0?[0-7]{3}$/.test(raw)) {
    report("umask", `must be an octal string of 3 or 4 digits such as "022" (got ${describeValue(raw)})`);
    return undefined;
  }
  return raw.padStart(4, "0");
}

export function resolveNice(raw: unknown, report: Report): number | undefined {
  return raw === undefined ? undefined : checkNumber(raw, "nice", report, { min: -20, max: 19, integer: true });
}
