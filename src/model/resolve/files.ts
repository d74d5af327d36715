// The PID file, and the files and directories no two processes may share.
import path from "node:path";
import type { IssueList, Report } from "../checks.js";
import type { ManagedDirectory, ProcessContext, ProcessMode, ResolvedProcess } from "../types.js";
import { isInside, procmanDirectoryProblem, recordsDir } from "./paths.js";

export interface PidFileContext {
  readonly name: string;
  readonly mode: ProcessMode;
  /** As resolved: undefined when the process runs as procman. */
  readonly user: string | undefined;
  readonly runtimeDirectory: ManagedDirectory | undefined;
  readonly logFile: string;
  readonly context: ProcessContext;
}

/** The declared pidFile (already absolute), or the default; never inside procman's records. */
export function resolvePidFile(declared: string | undefined, where: PidFileContext, report: Report): string {
  const { name, context } = where;
  // A daemon writes its own PID file: one running as another user cannot write procman's runtimeDir.
  const ownDirectory = where.mode === "daemon" && where.user !== undefined ? where.runtimeDirectory : undefined;
  const pidFile = declared ?? path.join(ownDirectory?.path ?? context.runtimeDir, `${name}.pid`);
  const records = recordsDir(context);
  const directory = procmanDirectoryProblem(pidFile, context);
  if (isInside(pidFile, records)) report("pidFile", `${pidFile} is inside procman's own records (${records})`);
  else if (directory !== undefined) report("pidFile", `${pidFile} ${directory}`);
  else if (pidFile === where.logFile) report("pidFile", `${pidFile} is the process's own log`);
  return pidFile;
}

/** Two processes writing one file overwrite each other's PID (or log): name both. */
export function checkSharedFiles(processes: readonly ResolvedProcess[], issues: IssueList): void {
  // Logs first: their paths follow from the (unique) names, so a clash is the other field's fault.
  const owners = new Map<string, { name: string; what: string }>(processes.map((spec) => [spec.logFile, { name: spec.name, what: "log" }]));
  for (const spec of processes) {
    claim(owners, spec.name, "pidFile", spec.pidFile, issues);
    if (spec.readiness.kind === "file") claim(owners, spec.name, "readiness.file", spec.readiness.path, issues);
  }
}

function claim(owners: Map<string, { name: string; what: string }>, name: string, field: string, file: string, issues: IssueList): void {
  if (file === "") return; // a path that was itself invalid, reported already
  const owner = owners.get(file);
  if (owner === undefined) owners.set(file, { name, what: field });
  // A clash within one process is reported by the readiness resolver.
  else if (owner.name !== name) {
    issues.add({ process: name, field, message: `${file} is also ${owner.name}'s ${owner.what}; each process needs its own` });
  }
}

/**
 * One directory made for two processes is fine when they would make it alike; with different
 * owners or modes the second start would silently take it from the first.
 */
export function checkSharedDirectories(processes: readonly ResolvedProcess[], issues: IssueList): void {
  const owners = new Map<string, { name: string; field: string; owner: string }>();
  for (const spec of processes) {
    for (const [field, dir] of ownDirectoriesOf(spec)) {
      const owner = `user ${spec.user ?? "(procman's)"}, group ${spec.group ?? "(the user's)"}, mode ${dir.mode}`;
      const first = owners.get(dir.path);
      if (first === undefined) owners.set(dir.path, { name: spec.name, field, owner });
      else if (first.owner !== owner) {
        issues.add({
          process: spec.name,
          field,
          message: `${dir.path} is also ${first.name}'s ${first.field}, made for ${first.owner}; here for ${owner}`,
        });
      }
    }
  }
}

/**
 * One own directory inside another (of the same process or another; checked among the processes
 * without other problems): the outer one's owner could swap what lies between them for a link,
 * and root would make, chown and chmod the inner one wherever it points.
 */
export function checkNestedDirectories(processes: readonly ResolvedProcess[], issues: IssueList): void {
  const owners = new Map<string, { name: string; field: string }>();
  for (const spec of processes) {
    for (const [field, dir] of ownDirectoriesOf(spec)) if (!owners.has(dir.path)) owners.set(dir.path, { name: spec.name, field });
  }
  for (const spec of processes) {
    for (const [field, dir] of ownDirectoriesOf(spec)) {
      for (let above = path.dirname(dir.path); above !== path.dirname(above); above = path.dirname(above)) {
        const outer = owners.get(above);
        if (outer === undefined) continue;
        issues.add({ process: spec.name, field, message: `${dir.path} lies inside ${outer.name}'s ${outer.field} ${above}, which its service may change: give them separate directories` });
        break;
      }
    }
  }
}

function ownDirectoriesOf(spec: ResolvedProcess): ["stateDirectory" | "runtimeDirectory", ManagedDirectory][] {
  const dirs: ["stateDirectory" | "runtimeDirectory", ManagedDirectory][] = [];
  if (spec.stateDirectory !== undefined) dirs.push(["stateDirectory", spec.stateDirectory]);
  if (spec.runtimeDirectory !== undefined) dirs.push(["runtimeDirectory", spec.runtimeDirectory]);
  return dirs;
}
