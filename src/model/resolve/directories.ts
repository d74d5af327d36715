// stateDirectory / runtimeDirectory: directories procman creates before the start and gives to the
// process's user. Since procman hands them over, they must not hold anything procman or other
// processes rely on.
import path from "node:path";
import { checkKnownKeys, checkLine, describeValue, isPlainObject, type Report } from "../checks.js";
import { DEFAULTS } from "../defaults.js";
import type { ManagedDirectory, ProcessContext } from "../types.js";
import { hasParentComponent, isInside, recordsDir } from "./paths.js";

export type DirectoryField = "stateDirectory" | "runtimeDirectory";

/** Where a relative name goes. */
export function directoryBase(field: DirectoryField, context: ProcessContext): string {
  return field === "stateDirectory" ? path.join(context.stateDir, "lib") : context.runtimeDir;
}

export function resolveDirectory(
  raw: unknown,
  field: DirectoryField,
  context: ProcessContext,
  report: Report,
): ManagedDirectory | undefined {
  if (raw === undefined) return undefined;
  let text: unknown = raw;
  let mode = DEFAULTS.directoryMode as string;
  if (isPlainObject(raw)) {
    checkKnownKeys(raw, ["path", "mode"], field, report);
    text = raw.path;
    if (raw.mode !== undefined) mode = resolveMode(raw.mode, `${field}.mode`, report) ?? mode;
    if (text === undefined) {
      report(`${field}.path`, "is required");
      return undefined;
    }
  } else if (typeof raw !== "string") {
    report(field, `must be a directory name, a path, or { path, mode } (got ${describeValue(raw)})`);
    return undefined;
  }
  const pathField = isPlainObject(raw) ? `${field}.path` : field;
  const line = checkLine(text, pathField, report);
  if (line === undefined) return undefined;
  if (hasParentComponent(line)) {
    report(pathField, `${JSON.stringify(line)} has a ".." component; name the directory directly`);
    return undefined;
  }
  const dir = path.resolve(directoryBase(field, context), line);
  const problem = reservedProblem(dir, context);
  if (problem !== undefined) report(pathField, `${dir} ${problem}`);
  return { path: dir, mode };
}

/** Why procman must not hand `dir` to a process, if it must not. */
function reservedProblem(dir: string, context: ProcessContext): string | undefined {
  const records = recordsDir(context);
  if (isInside(dir, records)) return `is inside procman's own records (${records})`;
  if (isInside(records, dir)) return `holds procman's own records (${records}); the process would own them`;
  const shared: [string, string][] = [
    [context.runtimeDir, "runtimeDir"],
    [context.logDir, "logDir"],
    [context.tmpDir, "tmpDir"],
    [context.cacheDir, "cacheDir"],
    [path.join(context.stateDir, "lib"), "${stateDir}/lib"],
  ];
  for (const [shareDir, name] of shared) {
    if (dir === shareDir) return `is procman's shared ${name}; give the process a directory of its own below it`;
  }
  return undefined;
}

/** An octal string of 3 or 4 digits, as four ("0750"). */
function resolveMode(raw: unknown, field: string, report: Report): string | undefined {
  if (typeof raw === "number") {
    report(field, `must be an octal string such as "0750" (got number ${raw}, which is ambiguous: YAML reads 0750 as seven hundred fifty)`);
    return undefined;
  }
  if (typeof raw !== "string" || !/^[0-7]{3,4}$/.test(raw)) {
    report(field, `must be an octal string of 3 or 4 digits such as "0750" (got ${describeValue(raw)})`);
    return undefined;
  }
  return raw.padStart(4, "0");
}
