// activatesAfter: process objects or names, resolved to names in declaration order, once each.
import { describeValue, isPlainObject, type Report } from "../checks.js";
import type { Names } from "./entries.js";

export function resolveDependencies(raw: unknown, names: Names, report: Report): string[] {
  if (raw === undefined) return [];
  let refs: [string, unknown][];
  if (Array.isArray(raw)) refs = raw.map((ref, index) => [`activatesAfter[${index}]`, ref]);
  else if (isPlainObject(raw)) refs = Object.entries(raw).map(([key, ref]) => [`activatesAfter.${key}`, ref]);
  else {
    report("activatesAfter", `must be a list of processes or names (got ${describeValue(raw)})`);
    return [];
  }
  const out = new Set<string>();
  for (const [field, ref] of refs) {
    let name: string | undefined;
    if (typeof ref === "string") name = ref;
    else if (typeof ref === "object" && ref !== null && names.byObject.has(ref)) name = names.byObject.get(ref);
    else if (isPlainObject(ref) && typeof ref.name === "string") name = ref.name;
    else {
      report(field, `must be a process of this model or its name (got ${describeValue(ref)})`);
      continue;
    }
    if (name === undefined) continue;
    if (!names.known.has(name)) {
      const list = knownList(names);
      report(field, `depends on unknown process "${name}"${list === "" ? "" : ` (the model has: ${list})`}`);
      continue;
    }
    out.add(name);
  }
  return [...out];
}

// Computed once per model, not once per unknown reference: normalize stays linear.
const lists = new WeakMap<Names, string>();
function knownList(names: Names): string {
  let list = lists.get(names);
  if (list === undefined) {
    const sorted = [...names.known].sort();
    list = sorted.length > 12 ? `${sorted.slice(0, 12).join(", ")}, … (${sorted.length} in all)` : sorted.join(", ");
    lists.set(names, list);
  }
  return list;
}
