// What, when it changes, requires a restart: how the process is run. Description, dependencies,
// readiness, stop and restart settings can change without touching a running process.
import { createHash } from "node:crypto";
import type { ResolvedProcess } from "../model/types.js";

export const RESTART_FIELDS = [
  "foreground", "daemon", "mode", "pidFile", "logFile", "environment", "path", "directory", "umask", "nice",
  "user", "group", "initialize",
] as const satisfies readonly (keyof ResolvedProcess)[];

export function specHash(process: ResolvedProcess): string {
  const relevant = Object.fromEntries(RESTART_FIELDS.map((field) => [field, process[field] ?? null]));
  return createHash("sha256").update(canonicalJson(relevant)).digest("hex").slice(0, 32);
}

/** The fields that differ between two versions of a process, for the plan's "why". */
export function changedFields(before: ResolvedProcess, after: ResolvedProcess): string[] {
  return RESTART_FIELDS.filter((field) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item ?? null)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
