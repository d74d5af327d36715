// Whether another procman holds the state dir lock: the supervisor does nothing of its own (no
// restart, no liveness stop) while one does. Two lock formats are understood: proper-lockfile's
// directory (held while its mtime is refreshed) and an owner record file `{ pid, startTime, … }`.
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { checkIdentity, stillRuns } from "../executor/proc.js";
import { supervisorPaths } from "./paths.js";

/** proper-lockfile refreshes the directory's mtime every second and calls it stale after 5 s. */
const DIRECTORY_STALE_MS = 10_000;

export function lockHeldByOther(stateDir: string, now = Date.now()): boolean {
  const file = supervisorPaths(stateDir).lock;
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return false;
  }
  if (stat.isDirectory()) return now - stat.mtimeMs < DIRECTORY_STALE_MS;
  if (!stat.isFile()) return true;
  let owner: { pid?: unknown; startTime?: unknown };
  try {
    owner = JSON.parse(readFileSync(file, "utf8")) as typeof owner;
  } catch {
    return true; // being written: held
  }
  if (typeof owner?.pid !== "number" || typeof owner.startTime !== "string") return true;
  if (owner.pid === process.pid) return false;
  // A holder in another PID namespace cannot be checked: an owner record naming one says so with a
  // pidNamespace that differs from ours, and is then taken as alive.
  const namespace = (owner as { pidNamespace?: unknown }).pidNamespace;
  if (typeof namespace === "string" && namespace !== ownNamespace()) return true;
  return stillRuns(checkIdentity({ pid: owner.pid, startTime: owner.startTime }));
}

let namespaceCache: string | undefined;
function ownNamespace(): string {
  if (namespaceCache === undefined) {
    try {
      namespaceCache = readlinkSync("/proc/self/ns/pid");
    } catch {
      namespaceCache = "";
    }
  }
  return namespaceCache;
}
