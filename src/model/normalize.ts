// raw model export → resolved model. Every field is checked here, once; every problem is collected
// (never only the first) and names the process and the field. Pure: no I/O.
import path from "node:path";
import type { ModelIssue } from "../errors.js";
import {
  IssueList,
  checkKnownKeys,
  checkLine,
  checkNumber,
  checkStringArray,
  checkText,
  describeValue,
  isPlainObject,
  type Report,
} from "./checks.js";
import { SIGNALS, normalizeSignal } from "./signals.js";
import { resolveDirectory } from "./resolve/directories.js";
import { resolveLiveness } from "./resolve/liveness.js";
import { resolveLog } from "./resolve/log.js";
import { isInside, recordsDir } from "./resolve/paths.js";
import { resolveShell } from "./resolve/probes.js";
import { resolveReadiness } from "./resolve/readiness.js";
import { resolveRestart } from "./resolve/restart.js";
import {
  PROCESS_MANAGERS,
  RESTART_POLICIES,
  type Command,
  type DependencyEdges,
  type ProcessContext,
  type Readiness,
  type ResolvedModel,
  type ResolvedProcess,
  type RestartPolicy,
} from "./types.js";

export { DEFAULTS, MINIMAL_PATH } from "./defaults.js";
import { DEFAULTS, MINIMAL_PATH } from "./defaults.js";

const PROCESS_FIELDS = [
  "name", "description", "process", "args", "foregroundProcess", "foregroundProcessArgs", "daemon", "daemonArgs",
  "pidFile", "environment", "path", "directory", "umask", "nice", "user", "group", "initialize", "activatesAfter",
  "readiness", "stop", "restart", "liveness", "log", "onFailure", "stateDirectory", "runtimeDirectory", "overrides",
] as const;

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ACCOUNT = /^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|[0-9]+)$/;
const MAX_NAME = 200; // unit names ≤ 255 with their suffix

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

interface Entry {
  readonly label: string; // how to name the process in issues before its name is known
  readonly key: string | undefined;
  readonly value: unknown;
}

export function normalizeModel(exported: unknown, context: ProcessContext, options: NormalizeOptions): NormalizeResult {
  const issues = new IssueList();
  const entries = collectEntries(exported, issues);

  // Names first, so that dependencies given as objects or names can be resolved.
  const names = new Map<Entry, string>();
  const byObject = new Map<object, string>();
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const name = resolveName(entry, options, issues);
    if (name === undefined) continue;
    const first = seen.get(name);
    if (first !== undefined) {
      issues.add({ process: name, field: "name", message: `duplicate name: ${entry.label} and ${first} are both called "${name}"` });
      continue;
    }
    seen.set(name, entry.label);
    names.set(entry, name);
    if (typeof entry.value === "object" && entry.value !== null) byObject.set(entry.value, name);
  }

  const processes: ResolvedProcess[] = [];
  const edges: DependencyEdges[] = [];
  const known = new Set(seen.keys());
  for (const entry of entries) {
    const name = names.get(entry);
    if (!isPlainObject(entry.value)) {
      issues.add({ process: name ?? entry.label, message: `must be an object describing a process (got ${describeValue(entry.value)})` });
      continue;
    }
    const report = issues.forProcess(name ?? entry.label);
    const before = issues.issues.length;
    const activatesAfter = resolveDependencies(entry.value.activatesAfter, byObject, known, report);
    if (name !== undefined) edges.push({ name, activatesAfter });
    const resolved = resolveProcess(name ?? "", entry.value, activatesAfter, context, report);
    if (name !== undefined && resolved !== undefined && issues.issues.length === before) processes.push(resolved);
  }

  checkSharedFiles(processes, issues);
  const clean = issues.issues.length === 0;
  return { model: clean ? deepFreeze({ context, processes }) : undefined, issues: issues.issues, edges };
}

/** Two processes writing one file overwrite each other's PID (or log): name both. */
function checkSharedFiles(processes: readonly ResolvedProcess[], issues: IssueList): void {
  // Logs first: their paths follow from the (unique) names, so a clash is the other field's fault.
  const owners = new Map<string, string>(processes.map((spec) => [spec.logFile, `${spec.name}'s log`]));
  for (const spec of processes) {
    const claims: [string, string][] = [["pidFile", spec.pidFile]];
    if (spec.readiness.kind === "file") claims.push(["readiness.file", spec.readiness.path]);
    for (const [field, file] of claims) {
      const owner = owners.get(file);
      if (owner === undefined) owners.set(file, `${spec.name}'s ${field}`);
      else issues.add({ process: spec.name, field, message: `${file} is also ${owner}; each process needs its own` });
    }
  }
}

function collectEntries(exported: unknown, issues: IssueList): Entry[] {
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

function resolveName(entry: Entry, options: NormalizeOptions, issues: IssueList): string | undefined {
  const report = issues.forProcess(entry.label);
  const raw = isPlainObject(entry.value) ? entry.value.name : undefined;
  if (raw === undefined) {
    if (entry.key === undefined) {
      if (isPlainObject(entry.value)) report("name", "is required for the processes of a list");
      return undefined;
    }
    return checkName(entry.key, "name", report);
  }
  const name = checkName(raw, "name", report);
  if (name !== undefined && entry.key !== undefined && options.nameMustMatchKey && name !== entry.key) {
    report("name", `"${name}" differs from its key "${entry.key}"; leave it out or make them equal`);
    return undefined;
  }
  return name;
}

function checkName(raw: unknown, field: string, report: Report): string | undefined {
  if (typeof raw !== "string") {
    report(field, `must be a string (got ${describeValue(raw)})`);
    return undefined;
  }
  if (!NAME.test(raw) || raw.length > MAX_NAME) {
    report(
      field,
      `${JSON.stringify(raw)} is not a valid name: use letters, digits, "_", "." and "-" (not first), at most ${MAX_NAME} characters; it becomes part of file and unit names`,
    );
    return undefined;
  }
  return raw;
}

function resolveDependencies(
  raw: unknown,
  byObject: ReadonlyMap<object, string>,
  known: ReadonlySet<string>,
  report: Report,
): string[] {
  if (raw === undefined) return [];
  let refs: [string, unknown][];
  if (Array.isArray(raw)) refs = raw.map((ref, index) => [`activatesAfter[${index}]`, ref]);
  else if (isPlainObject(raw)) refs = Object.entries(raw).map(([key, ref]) => [`activatesAfter.${key}`, ref]);
  else {
    report("activatesAfter", `must be a list of processes or names (got ${describeValue(raw)})`);
    return [];
  }
  const out: string[] = [];
  for (const [field, ref] of refs) {
    let name: string | undefined;
    if (typeof ref === "string") name = ref;
    else if (typeof ref === "object" && ref !== null && byObject.has(ref)) name = byObject.get(ref);
    else if (isPlainObject(ref) && typeof ref.name === "string") name = ref.name;
    else {
      report(field, `must be a process of this model or its name (got ${describeValue(ref)})`);
      continue;
    }
    if (name === undefined) continue;
    if (!known.has(name)) {
      const sorted = [...known].sort();
      const list = sorted.length > 12 ? `${sorted.slice(0, 12).join(", ")}, … (${sorted.length} in all)` : sorted.join(", ");
      report(field, `depends on unknown process "${name}"${list === "" ? "" : ` (the model has: ${list})`}`);
      continue;
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

function resolveProcess(
  name: string,
  raw: Record<string, unknown>,
  activatesAfter: readonly string[],
  context: ProcessContext,
  report: Report,
): ResolvedProcess | undefined {
  checkKnownKeys(raw, PROCESS_FIELDS, "", report);
  const absolute = (field: string, base: string): string | undefined => {
    if (raw[field] === undefined) return undefined;
    const text = checkLine(raw[field], field, report);
    return text === undefined ? undefined : path.resolve(base, text);
  };
  const executable = (field: string): string | undefined => {
    if (raw[field] === undefined) return undefined;
    const text = checkLine(raw[field], field, report);
    if (text === undefined) return undefined;
    // A bare command name is looked up on the process's PATH when it starts; a path is made absolute.
    return text.includes("/") ? path.resolve(context.modelDir, text) : text;
  };
  const list = (field: string): string[] | undefined =>
    raw[field] === undefined ? undefined : checkStringArray(raw[field], field, report);

  const description = raw.description === undefined ? undefined : checkLine(raw.description, "description", report);
  const process = executable("process");
  const foregroundProcess = executable("foregroundProcess");
  const daemon = executable("daemon");
  const args = list("args");
  const foregroundProcessArgs = list("foregroundProcessArgs");
  const daemonArgs = list("daemonArgs");

  // Which executable and arguments each mode uses; a plain `process` serves both modes.
  const foregroundExe = foregroundProcess ?? process;
  const daemonExe = daemon ?? (daemonArgs !== undefined ? process : undefined);
  const present = (field: string) => raw[field] !== undefined;
  if (!present("process") && !present("foregroundProcess") && !present("daemon")) {
    report("process", "no executable: set process, foregroundProcess or daemon");
  }
  if (present("process") && present("foregroundProcess") && present("daemon")) {
    report("process", "is never used: foregroundProcess and daemon are both set");
  }
  if (present("foregroundProcessArgs") && !present("foregroundProcess") && !present("process")) {
    report("foregroundProcessArgs", "given, but there is no foregroundProcess or process to pass them to");
  }
  if (present("daemonArgs") && !present("daemon") && !present("process")) {
    report("daemonArgs", "given, but there is no daemon or process to pass them to");
  }
  if (present("args") && present("foregroundProcessArgs") && (present("daemonArgs") || !present("daemon"))) {
    report("args", "is never used: foregroundProcessArgs and daemonArgs replace it in every mode");
  }
  const foreground: Command | undefined =
    foregroundExe === undefined ? undefined : { executable: foregroundExe, args: foregroundProcessArgs ?? args ?? [] };
  const daemonCommand: Command | undefined =
    daemonExe === undefined ? undefined : { executable: daemonExe, args: daemonArgs ?? args ?? [] };
  const mode = foreground !== undefined ? "foreground" : "daemon";

  const declaredPidFile = absolute("pidFile", context.runtimeDir);
  const directory = absolute("directory", context.modelDir);
  const pathDirs = resolvePath(raw.path, context.modelDir, report);
  const environment = resolveEnvironment(raw.environment, pathDirs ?? [], report);
  const umask = resolveUmask(raw.umask, report);
  const nice = raw.nice === undefined ? undefined : checkNumber(raw.nice, "nice", report, { min: -20, max: 19, integer: true });
  const account = (field: string): string | undefined => {
    if (raw[field] === undefined) return undefined;
    const text = checkLine(raw[field], field, report);
    if (text !== undefined && !ACCOUNT.test(text)) {
      report(field, `${JSON.stringify(text)} is not a valid ${field} name or numeric id`);
      return undefined;
    }
    return context.forceDisableUserChange ? undefined : text;
  };
  const user = account("user");
  const group = account("group");
  const initialize = raw.initialize === undefined ? undefined : checkText(raw.initialize, "initialize", report);
  const stateDirectory = resolveDirectory(raw.stateDirectory, "stateDirectory", context, report);
  const runtimeDirectory = resolveDirectory(raw.runtimeDirectory, "runtimeDirectory", context, report);
  // A daemon writes its own PID file: one running as another user cannot write procman's runtimeDir.
  const pidFile =
    declaredPidFile ??
    (mode === "daemon" && user !== undefined && runtimeDirectory !== undefined
      ? path.join(runtimeDirectory.path, `${name}.pid`)
      : path.join(context.runtimeDir, `${name}.pid`));
  const records = recordsDir(context);
  if (isInside(pidFile, records)) report("pidFile", `${pidFile} is inside procman's own records (${records})`);
  const logFile = path.join(context.logDir, `${name}.log`);
  const readiness = resolveReadiness(
    raw.readiness,
    { mode, pidFile, logFile, fileBase: directory ?? context.modelDir, recordsDir: records },
    report,
  );
  const stop = resolveStop(raw.stop, report);
  const restart = resolveRestart(raw.restart, report);
  const liveness = resolveLiveness(raw.liveness, report);
  const log = resolveLog(raw.log, report);
  const onFailure = raw.onFailure === undefined ? undefined : resolveShell(raw.onFailure, "onFailure", report);
  const overrides = resolveOverrides(raw.overrides, report);

  if (stop === undefined || environment === undefined) return undefined;
  return {
    name,
    description,
    foreground,
    daemon: daemonCommand,
    mode,
    pidFile,
    logFile,
    environment,
    path: pathDirs ?? [],
    directory,
    umask,
    nice,
    user,
    group,
    initialize,
    activatesAfter,
    readiness,
    stop,
    restart,
    liveness,
    log,
    onFailure,
    stateDirectory,
    runtimeDirectory,
    overrides,
  };
}

function resolvePath(raw: unknown, base: string, report: Report): string[] | undefined {
  if (raw === undefined) return [];
  const dirs = checkStringArray(raw, "path", report);
  if (dirs === undefined) return undefined;
  let ok = true;
  const out = dirs.map((dir, index) => {
    const line = checkLine(dir, `path[${index}]`, report);
    if (line?.includes(":")) report(`path[${index}]`, 'contains ":", which separates PATH entries');
    if (line === undefined || line.includes(":")) ok = false;
    return path.resolve(base, dir);
  });
  return ok ? out : undefined;
}

function resolveEnvironment(raw: unknown, pathDirs: readonly string[], report: Report): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (raw !== undefined && !isPlainObject(raw)) {
    report("environment", `must be a mapping from variable name to string (got ${describeValue(raw)})`);
    return undefined;
  }
  let ok = true;
  for (const [key, value] of Object.entries(raw ?? {})) {
    const field = `environment.${key}`;
    if (!ENV_NAME.test(key)) {
      report(field, `${JSON.stringify(key)} is not a valid variable name (letters, digits and "_", not starting with a digit)`);
      ok = false;
      continue;
    }
    if (typeof value === "number" || typeof value === "boolean") {
      report(field, `must be a string (got ${describeValue(value)}); quote it: "${String(value)}"`);
      ok = false;
      continue;
    }
    const text = checkText(value, field, report);
    if (text === undefined) ok = false;
    else out[key] = text;
  }
  out.PATH = [...pathDirs, out.PATH ?? MINIMAL_PATH].filter((part) => part !== "").join(":");
  return ok ? out : undefined;
}

function resolveUmask(raw: unknown, report: Report): string | undefined {
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

function resolveStop(raw: unknown, report: Report): ResolvedProcess["stop"] | undefined {
  if (raw !== undefined && !isPlainObject(raw)) {
    report("stop", `must be an object such as { signal: "SIGINT", timeout: 20 } (got ${describeValue(raw)})`);
    return undefined;
  }
  const spec = raw ?? {};
  checkKnownKeys(spec, ["signal", "timeout", "reloadSignal"], "stop", report);
  const signal = (field: "signal" | "reloadSignal", fallback: string): string | undefined => {
    if (spec[field] === undefined) return fallback;
    const normalized = normalizeSignal(spec[field]);
    if (normalized === undefined) {
      report(`stop.${field}`, `${describeValue(spec[field])} is not a signal name (one of ${SIGNALS.join(", ")})`);
    }
    return normalized;
  };
  const stopSignal = signal("signal", DEFAULTS.stopSignal);
  const reloadSignal = signal("reloadSignal", DEFAULTS.reloadSignal);
  const timeout =
    spec.timeout === undefined
      ? DEFAULTS.stopTimeout
      : checkNumber(spec.timeout, "stop.timeout", report, { min: 0, max: 86400, exclusiveMin: true, unit: "seconds" });
  if (stopSignal === undefined || reloadSignal === undefined || timeout === undefined) return undefined;
  return { signal: stopSignal, timeout, reloadSignal };
}

function resolveOverrides(raw: unknown, report: Report): ResolvedProcess["overrides"] {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    report("overrides", `must be a mapping from process manager to settings (got ${describeValue(raw)})`);
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

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
