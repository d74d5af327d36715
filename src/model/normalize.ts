// raw model export → resolved model. Every field is checked once, by the resolver of its group
// (./resolve/); every problem is collected (never only the first) and names the process and the
// field. Pure: no I/O. Linear in the number of processes and dependencies.
import type { ModelIssue } from "../errors.js";
import { IssueList, describeValue, isPlainObject } from "./checks.js";
import { resolveDependencies } from "./resolve/dependencies.js";
import { resolveNames } from "./resolve/entries.js";
import { checkNestedDirectories, checkSharedDirectories, checkSharedFiles } from "./resolve/files.js";
import { resolveProcess } from "./resolve/process.js";
import type { DependencyEdges, ProcessContext, ResolvedModel, ResolvedProcess } from "./types.js";

export { DEFAULTS, MINIMAL_PATH } from "./defaults.js";

export interface NormalizeOptions {
  /** YAML/JSON mappings: a `name` given must equal its key. TS/JS mappings key by variable names. */
  readonly nameMustMatchKey: boolean;
}

export interface NormalizeResult {
  /** Undefined when there is any issue. */
  readonly model: ResolvedModel | undefined;
  readonly issues: readonly ModelIssue[];
  /** Names and dependencies, known even when other fields are broken, so cycles are reported too. */
  readonly edges: readonly DependencyEdges[];
}

export function normalizeModel(exported: unknown, context: ProcessContext, options: NormalizeOptions): NormalizeResult {
  const issues = new IssueList();
  const names = guarded(issues, undefined, () => resolveNames(exported, options.nameMustMatchKey, issues));
  const processes: ResolvedProcess[] = [];
  const named: ResolvedProcess[] = []; // invalid ones too: a shared PID file is reported alongside
  const edges: DependencyEdges[] = [];
  for (const entry of names?.entries ?? []) {
    const label = entry.name ?? entry.label;
    guarded(issues, label, () => {
      if (!isPlainObject(entry.value)) {
        issues.add({ process: label, message: `must be an object describing a process (got ${describeValue(entry.value)})` });
        return;
      }
      const scope = issues.scope(label);
      const activatesAfter = resolveDependencies(entry.value.activatesAfter, names!, scope.report);
      if (entry.name === undefined) {
        resolveProcess("", entry.value, activatesAfter, context, scope.report); // for its issues only
        return;
      }
      edges.push({ name: entry.name, activatesAfter });
      const spec = resolveProcess(entry.name, entry.value, activatesAfter, context, scope.report);
      named.push(spec);
      if (!scope.failed) processes.push(spec);
    });
  }
  checkSharedFiles(named, issues);
  checkSharedDirectories(named, issues);
  checkNestedDirectories(processes, issues);
  const clean = issues.issues.length === 0;
  return { model: clean ? deepFreeze({ context, processes }) : undefined, issues: issues.issues, edges };
}

/** A TS model's getter (or proxy) may throw while its fields are read: bad input, named, not a crash. */
function guarded<T>(issues: IssueList, name: string | undefined, read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    issues.add({ ...(name !== undefined ? { process: name } : {}), message: `reading ${name === undefined ? "the model" : "this process"} threw: ${message}` });
    return undefined;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
