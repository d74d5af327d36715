// overrides: raw per-manager settings, shape-checked here and merged by each generator.
import { checkKnownKeys, describeValue, isPlainObject, type Report } from "../checks.js";
import { findNestingProblem, formatNestingPath, MAX_NESTING } from "../nesting.js";
import { PROCESS_MANAGERS, type ResolvedProcess } from "../types.js";

export function resolveOverrides(raw: unknown, report: Report): ResolvedProcess["overrides"] {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    report("overrides", `must be a mapping from process manager to settings (got ${describeValue(raw)})`);
    return {};
  }
  // Kept as raw data, then frozen, hashed and rendered by recursive walks: a module's export
  // may nest it thousands deep, or make it contain itself.
  const nesting = findNestingProblem(raw);
  if (nesting !== undefined) {
    report(`overrides.${formatNestingPath(nesting.path)}`, nesting.kind === "cycle" ? "contains itself; overrides are plain data" : `nests more than ${MAX_NESTING} levels deep`);
    return {};
  }
  checkKnownKeys(raw, PROCESS_MANAGERS, "overrides", report);
  for (const [manager, settings] of Object.entries(raw)) {
    if (!isPlainObject(settings)) report(`overrides.${manager}`, `must be a mapping of settings (got ${describeValue(settings)})`);
  }
  if (isPlainObject(raw.systemd)) {
    for (const [section, keys] of Object.entries(raw.systemd)) {
      const field = `overrides.systemd.${section}`;
      if (!SECTION.test(section)) {
        report(`overrides.systemd[${JSON.stringify(section)}]`, `is not a unit file section name (letters, digits and "-")`);
        continue;
      }
      if (!isPlainObject(keys)) report(field, `must be a mapping of unit settings (got ${describeValue(keys)})`);
      else checkSettings(keys, field, report, { lists: true });
    }
  }
  if (isPlainObject(raw.supervisord)) checkSettings(raw.supervisord, "overrides.supervisord", report, { lists: false });
  if (isPlainObject(raw.sysvinit)) checkSettings(raw.sysvinit, "overrides.sysvinit", report, { lists: true });
  if (isPlainObject(raw.launchd)) for (const [key, value] of Object.entries(raw.launchd)) checkPlistValue(value, `overrides.launchd.${key}`, report);
  return structuredClone(raw) as ResolvedProcess["overrides"];
}

// A key or value is written into a line of the target's file as it is: a line break (or "]", "=")
// in the wrong place would end the setting and start another, or a new section.
const SECTION = /^[A-Za-z][A-Za-z0-9-]*$/;
const SETTING = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Settings of a line-based file (unit, supervisord section, LSB header): name=scalar (or a list of them). */
function checkSettings(settings: Record<string, unknown>, where: string, report: Report, options: { readonly lists: boolean }): void {
  for (const [key, value] of Object.entries(settings)) {
    const field = `${where}.${key}`;
    if (!SETTING.test(key)) {
      report(`${where}[${JSON.stringify(key)}]`, `is not a setting name (letters, digits, "_", "." and "-", starting with a letter)`);
      continue;
    }
    const items = options.lists && Array.isArray(value) ? value : [value];
    items.forEach((item, index) => checkScalar(item, items === value ? `${field}[${index}]` : field, report, options.lists));
  }
}

function checkScalar(value: unknown, field: string, report: Report, lists: boolean): void {
  const kinds = lists ? "a string, number or boolean, or a list of them" : "a string, number or boolean";
  if (typeof value === "string") {
    if (CONTROL.test(value)) report(field, "contains a line break or another control character, which would end the setting in the generated file");
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) report(field, `must be a finite number (got ${describeValue(value)})`);
  } else if (typeof value !== "boolean") {
    report(field, `must be ${kinds} (got ${describeValue(value)})`);
  }
}

/** What a plist can hold: strings, finite numbers, booleans, arrays and dictionaries of them. */
function checkPlistValue(value: unknown, field: string, report: Report): void {
  if (typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) report(field, `must be a finite number (got ${describeValue(value)})`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkPlistValue(item, `${field}[${index}]`, report));
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) checkPlistValue(item, `${field}.${key}`, report);
  } else {
    report(field, `must be a string, number, boolean, list or mapping, as a plist holds (got ${describeValue(value)})`);
  }
}
