// The model's shape (a list or a mapping) and each process's name, resolved before any other field
// so that dependencies given as objects or names can be looked up.
import { describeValue, isPlainObject, type IssueList, type Report } from "../checks.js";

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_NAME = 200; // unit names ≤ 255 with their suffix

export interface Entry {
  /** How to name the process in issues before its name is known. */
  readonly label: string;
  readonly key: string | undefined;
  readonly value: unknown;
  /** Undefined when the name is missing, invalid or taken. */
  readonly name: string | undefined;
}

export interface Names {
  readonly entries: readonly Entry[];
  /** Process objects (from createManagedProcess) by identity, for activatesAfter: [db]. */
  readonly byObject: ReadonlyMap<object, string>;
  readonly known: ReadonlySet<string>;
}

export function resolveNames(exported: unknown, nameMustMatchKey: boolean, issues: IssueList): Names {
  const byObject = new Map<object, string>();
  const firstLabel = new Map<string, string>();
  const entries = rawEntries(exported, issues).map((entry): Entry => {
    const name = resolveName(entry, nameMustMatchKey, issues.forProcess(entry.label));
    const { label, key, value } = entry;
    if (name === undefined) return { label, key, value, name };
    const first = firstLabel.get(name);
    if (first !== undefined) {
      issues.add({ process: name, field: "name", message: `duplicate name: ${entry.label} and ${first} are both called "${name}"` });
      return { label, key, value, name: undefined };
    }
    firstLabel.set(name, entry.label);
    if (typeof entry.value === "object" && entry.value !== null) byObject.set(entry.value, name);
    return { label, key, value, name };
  });
  return { entries, byObject, known: new Set(firstLabel.keys()) };
}

type RawEntry = Omit<Entry, "name">;

function rawEntries(exported: unknown, issues: IssueList): RawEntry[] {
  if (Array.isArray(exported)) {
    return exported.map((value, index) => {
      const named = isPlainObject(value) && typeof value.name === "string" ? ` (${JSON.stringify(value.name)})` : "";
      return { label: `process #${index + 1}${named}`, key: undefined, value };
    });
  }
  if (isPlainObject(exported)) {
    // A key that is not a valid name is quoted, so that a control character cannot break the error list.
    return Object.entries(exported).map(([key, value]) => ({ label: NAME.test(key) ? key : JSON.stringify(key), key, value }));
  }
  issues.add({
    message: `the model must be a mapping from name to process, a list of processes, or a function returning one (got ${describeValue(exported)})`,
  });
  return [];
}

function resolveName(entry: RawEntry, nameMustMatchKey: boolean, report: Report): string | undefined {
  const raw = isPlainObject(entry.value) ? entry.value.name : undefined;
  if (raw === undefined) {
    if (entry.key === undefined) {
      if (isPlainObject(entry.value)) report("name", "is required for the processes of a list");
      return undefined;
    }
    return checkName(entry.key, report);
  }
  const name = checkName(raw, report);
  if (name !== undefined && entry.key !== undefined && nameMustMatchKey && name !== entry.key) {
    report("name", `"${name}" differs from its key "${entry.key}"; leave it out or make them equal`);
    return undefined;
  }
  return name;
}

function checkName(raw: unknown, report: Report): string | undefined {
  if (typeof raw !== "string") {
    report("name", `must be a string (got ${describeValue(raw)})`);
    return undefined;
  }
  if (!NAME.test(raw) || raw.length > MAX_NAME) {
    report(
      "name",
      `${JSON.stringify(raw)} is not a valid name: use letters, digits, "_", "." and "-" (not first), at most ${MAX_NAME} characters; it becomes part of file and unit names`,
    );
    return undefined;
  }
  if (RESERVED_NAMES.includes(raw)) {
    report("name", `${JSON.stringify(raw)} is reserved: procman's supervisor logs to ${raw}.log in the log dir; rename the process`);
    return undefined;
  }
  return raw;
}

/** Names whose log file would be one of procman's own. */
const RESERVED_NAMES: readonly string[] = ["procman-supervisor"];
