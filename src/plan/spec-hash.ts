// What, when it changes, requires a restart: how the process is run, the directories made for it,
// and its readiness check (a kept process was never verified against a new check, so a new check
// means a restart). Description, dependencies, stop, restart, liveness, log and onFailure settings
// change without touching a running process: the supervisor reads them from the generation.
import { createHash } from "node:crypto";
import type { Readiness, ResolvedProcess } from "../model/types.js";
import { canonicalJson } from "./canonical-json.js";

export const RESTART_FIELDS = [
  "foreground", "daemon", "mode", "pidFile", "logFile", "environment", "path", "directory", "umask", "nice",
  "user", "group", "initialize",
] as const satisfies readonly (keyof ResolvedProcess)[];

/**
 * Hashed only when set (readiness: when it is more than the default that mode and pidFile already
 * decide), so that a process declaring none of them keeps the hash it had before they existed, and
 * an upgrade of procman restarts nothing.
 */
export const OPTIONAL_RESTART_FIELDS = ["stateDirectory", "runtimeDirectory", "readiness"] as const satisfies readonly (keyof ResolvedProcess)[];

export function specHash(spec: ResolvedProcess): string {
  const relevant: Record<string, unknown> = Object.fromEntries(RESTART_FIELDS.map((field) => [field, spec[field] ?? null]));
  for (const field of OPTIONAL_RESTART_FIELDS) {
    const value = field === "readiness" ? readinessCheck(spec.readiness) : spec[field];
    if (value !== undefined) relevant[field] = value;
  }
  return createHash("sha256").update(canonicalJson(relevant)).digest("hex").slice(0, 32);
}

/** The check itself, without its timing (a new timeout does not make a ready process unready). */
export function readinessCheck(readiness: Readiness): Omit<Readiness, "timeout" | "interval"> | undefined {
  if (readiness.kind === "started" || readiness.kind === "pidFile") return undefined;
  const { timeout: _timeout, interval: _interval, ...check } = readiness;
  return check;
}
