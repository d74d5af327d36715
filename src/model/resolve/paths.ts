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
