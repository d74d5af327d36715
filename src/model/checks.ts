// Field checkers shared by normalization: each returns the checked value, or undefined after
// recording an issue that names the process and the field.
import type { ModelIssue } from "../errors.js";

export type Report = (field: string, message: string) => void;

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `${typeof value} ${String(value)}`;
  return typeof value === "object" ? "an object" : typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// No target can carry NUL (argv and environment are C strings).
const NUL = /\0/;
// Control characters (C0 and DEL) break one-line fields: unit files, LSB headers, paths in configs.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function controlCharName(text: string): string {
  const match = CONTROL.exec(text);
  if (match === null) return "";
  const code = match[0].charCodeAt(0);
  const names: Record<number, string> = { 0: "NUL", 9: "tab", 10: "newline", 13: "carriage return", 127: "DEL" };
  return names[code] ?? `control character 0x${code.toString(16).padStart(2, "0")}`;
}

/** A string that may hold any character but NUL (arguments, environment values, shell snippets). */
export function checkText(value: unknown, field: string, report: Report): string | undefined {
  if (typeof value !== "string") {
    report(field, `must be a string (got ${describeValue(value)})`);
    return undefined;
  }
  if (NUL.test(value)) {
    report(field, "contains a NUL character, which no process manager can pass on");
    return undefined;
  }
  return value;
}

/** A non-empty, one-line string without control characters (names, paths, descriptions). */
export function checkLine(value: unknown, field: string, report: Report): string | undefined {
  const text = checkText(value, field, report);
  if (text === undefined) return undefined;
  if (text === "") {
    report(field, "must not be empty");
    return undefined;
  }
  if (CONTROL.test(text)) {
    report(field, `contains a ${controlCharName(text)}; it must be one line without control characters`);
    return undefined;
  }
  return text;
}

export function checkStringArray(value: unknown, field: string, report: Report): string[] | undefined {
  if (!Array.isArray(value)) {
    report(field, `must be a list of strings (got ${describeValue(value)})`);
    return undefined;
  }
  let ok = true;
  const out: string[] = [];
  value.forEach((item, index) => {
    const text = checkText(item, `${field}[${index}]`, report);
    if (text === undefined) ok = false;
    else out.push(text);
  });
  return ok ? out : undefined;
}

export function checkNumber(
  value: unknown,
  field: string,
  report: Report,
  range: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean; unit?: string },
): number | undefined {
  const unit = range.unit !== undefined ? ` ${range.unit}` : "";
  const lower = range.exclusiveMin === true ? `greater than ${range.min}` : `at least ${range.min}`;
  const kind = range.integer === true ? "an integer" : "a number";
  if (typeof value !== "number" || !Number.isFinite(value) || (range.integer === true && !Number.isInteger(value))) {
    report(field, `must be ${kind}${unit === "" ? "" : ` of${unit}`} (got ${describeValue(value)})`);
    return undefined;
  }
  const tooLow = range.exclusiveMin === true ? value <= range.min : value < range.min;
  if (tooLow || value > range.max) {
    report(field, `must be ${kind} ${lower} and at most ${range.max}${unit} (got ${value})`);
    return undefined;
  }
  return value;
}

/** Names of the fields an object may have; anything else is reported with a suggestion. */
export function checkKnownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  field: string,
  report: Report,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = closest(key, known);
    const hint = suggestion !== undefined ? ` (did you mean ${suggestion}?)` : ` (known: ${known.join(", ")})`;
    report(field === "" ? key : `${field}.${key}`, `unknown field${hint}`);
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The issues of one process: `failed` is the only signal that its resolved value must be dropped. */
export interface IssueScope {
  readonly report: Report;
  readonly failed: boolean;
}

export class IssueList {
  readonly issues: ModelIssue[] = [];
  forProcess(name: string | undefined): Report {
    return (field, message) => this.add({ ...(name !== undefined ? { process: name } : {}), field, message });
  }
  scope(name: string): IssueScope {
    let failed = false;
    const report = this.forProcess(name);
    return {
      report: (field, message) => {
        failed = true;
        report(field, message);
      },
      get failed() {
        return failed;
      },
    };
  }
  add(issue: ModelIssue): void {
    this.issues.push(issue);
  }
}
