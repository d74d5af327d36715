// Whether another procman holds the state dir lock: the supervisor does nothing of its own (no
// restart, no liveness stop) while one does. The owner record is judged as the lock itself judges
// it (executor/lock.ts); an older procman's proper-lockfile directory counts while it is fresh.
import { lstatSync } from "node:fs";
import { lockHolder, ownPidNamespace } from "../executor/lock.js";
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
  const owner = lockHolder(file);
  return owner !== undefined && !(owner.pid === process.pid && owner.pidNamespace === ownPidNamespace());
}
