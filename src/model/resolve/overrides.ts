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
      if (!isPlainObject(keys)) report(`overrides.systemd.${section}`, `must be a mapping of unit settings (got ${describeValue(keys)})`);
    }
  }
  return structuredClone(raw) as ResolvedProcess["overrides"];
}
