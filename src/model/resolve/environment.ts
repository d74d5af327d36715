// environment and path: the exact environment a process gets, PATH built from both.
import path from "node:path";
import { checkLine, checkStringArray, checkText, describeValue, isPlainObject, type Report } from "../checks.js";
import { MINIMAL_PATH } from "../defaults.js";
import { setOwn } from "../../own-property.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function resolvePath(raw: unknown, modelDir: string, report: Report): string[] {
  if (raw === undefined) return [];
  const dirs = checkStringArray(raw, "path", report) ?? [];
  return dirs.map((dir, index) => {
    const line = checkLine(dir, `path[${index}]`, report);
    if (line?.includes(":")) report(`path[${index}]`, 'contains ":", which separates PATH entries');
    return path.resolve(modelDir, dir);
  });
}

/** PATH is the path entries, then the declared PATH or the minimal one. */
export function resolveEnvironment(raw: unknown, pathDirs: readonly string[], report: Report): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw !== undefined && !isPlainObject(raw)) {
    report("environment", `must be a mapping from variable name to string (got ${describeValue(raw)})`);
  }
  for (const [key, value] of Object.entries(isPlainObject(raw) ? raw : {})) {
    const field = `environment.${key}`;
    if (!ENV_NAME.test(key)) {
      report(field, `${JSON.stringify(key)} is not a valid variable name (letters, digits and "_", not starting with a digit)`);
      continue;
    }
    if (typeof value === "number" || typeof value === "boolean") {
      report(field, `must be a string (got ${describeValue(value)}); quote it: "${String(value)}"`);
      continue;
    }
    const text = checkText(value, field, report);
    if (text !== undefined) setOwn(out, key, text); // a variable may be called __proto__
  }
  out.PATH = [...pathDirs, out.PATH ?? MINIMAL_PATH].filter((part) => part !== "").join(":");
  return out;
}
