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

// A resolved spec is frozen: its hash is computed once per object (a switch asks the plan, the
// start and the commit for it).
const hashes = new WeakMap<ResolvedProcess, string>();

export function specHash(spec: ResolvedProcess): string {
  let hash = hashes.get(spec);
  if (hash === undefined) {
    hash = computeSpecHash(spec);
    hashes.set(spec, hash);
  }
  return hash;
}

/**
 * Takes the hashes a generation stored for its specs (`stored`, by name) for the specs of `specs`
 * that are JSON-equal to the stored ones, so that an unchanged model of 500 processes is not
 * hashed again by status or a no-op switch. Anything else (no stored hash, a different spec) is
 * hashed as usual. (A change to the hash function must rename the stored field.)
 */
export function adoptSpecHashes(stored: readonly ResolvedProcess[], storedHashes: unknown, specs: readonly ResolvedProcess[]): void {
  if (storedHashes === null || typeof storedHashes !== "object") return;
  const known = storedHashes as Record<string, unknown>;
  const before = new Map(stored.map((spec) => [spec.name, spec]));
  for (const spec of specs) {
    const old = before.get(spec.name);
    const hash = Object.hasOwn(known, spec.name) ? known[spec.name] : undefined;
    if (old === undefined || typeof hash !== "string" || !/^[0-9a-f]{32}$/.test(hash) || hashes.has(spec)) continue;
    if (old === spec || JSON.stringify(old) === JSON.stringify(spec)) {
      hashes.set(spec, hash);
      if (old !== spec && !hashes.has(old)) hashes.set(old, hash);
    }
  }
}

function computeSpecHash(spec: ResolvedProcess): string {
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
