// Path facts the resolvers share. Paths here are absolute and normalized (path.resolve).
import path from "node:path";
import type { ProcessContext } from "../types.js";

/** Equal to `dir` or below it. */
export function isInside(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** procman's own records (generations, lock, journal): no process may put a file there. */
export function recordsDir(context: ProcessContext): string {
  return path.join(context.stateDir, "lib", "procman");
}

/** Any ".." component in a path as written: refused where a path must stay where it says. */
export function hasParentComponent(text: string): boolean {
  return text.split("/").includes("..");
}

/**
 * Why `file` cannot be a file a process's PID or readiness is written to or removed from: it is
 * one of the directories procman uses, or lies above one (writing it would take that directory's
 * place, removing it would remove them all).
 */
export function procmanDirectoryProblem(file: string, context: ProcessContext): string | undefined {
  const dirs: [string, string][] = [
    [context.stateDir, "stateDir"],
    [path.join(context.stateDir, "lib"), "${stateDir}/lib"],
    [recordsDir(context), "records"],
    [context.runtimeDir, "runtimeDir"],
    [context.logDir, "logDir"],
    [context.tmpDir, "tmpDir"],
    [context.cacheDir, "cacheDir"],
  ];
  for (const [dir, name] of dirs) {
    if (file === dir) return `is procman's ${name}, a directory; name a file in it`;
    if (isInside(dir, file)) return `is a directory above procman's ${name} (${dir}); name a file`;
  }
  return undefined;
}
