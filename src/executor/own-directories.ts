// A process's stateDirectory and runtimeDirectory, made before its initialize runs: like systemd's
// StateDirectory=, owned by the process's user and group with the declared mode. Only the last
// component is created and changed (through a descriptor opened without following a link, never
// recursive): the service owns what is inside and may have planted a symlink there. The
// directories above must be procman's (root's), checked at every start before anything is made:
// one a service owns (another own directory, nested) could be swapped for a link, and root would
// chown and chmod wherever it points.
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, mkdirSync, openSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import type { ManagedDirectory, ResolvedProcess } from "../model/types.js";
import { makeDirectories } from "./atomic.js";
import { lookupUser } from "./run-as.js";
import { StartError } from "./launch.js";
import { checkServiceDirAncestors, forgetCheckedServiceDirs } from "./dir-trust.js";

export function makeOwnDirectories(spec: ResolvedProcess): void {
  for (const [field, dir] of [["stateDirectory", spec.stateDirectory], ["runtimeDirectory", spec.runtimeDirectory]] as const) {
    if (dir !== undefined) makeOwnDirectory(spec, field, dir);
  }
}

function makeOwnDirectory(spec: ResolvedProcess, field: string, dir: ManagedDirectory): void {
  const fail = (why: string) => new StartError(spec.name, `${field} ${dir.path}: ${why}`);
  try {
    // At every start, never from a cache: a supervisor lives on while a later switch may have
    // handed a directory above this one to a service.
    checkServiceDirAncestors(dir.path);
  } catch (error) {
    throw fail((error as Error).message);
  }
  try {
    makeDirectories(path.dirname(dir.path), 0o755);
    try {
      mkdirSync(dir.path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  } catch (error) {
    throw fail((error as Error).message);
  }
  // Opened without following a link, then changed through the descriptor: the service owns the
  // directory (and, in /tmp, may rename it and plant a link in its place), never what it points to.
  let fd: number;
  try {
    fd = openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(code === "ELOOP" || code === "ENOTDIR" ? "exists and is not a directory (a symbolic link is never followed)" : (error as Error).message);
  }
  try {
    const stat = fstatSync(fd);
    const { uid, gid } = ownerOf(spec);
    if (uid !== undefined && (stat.uid !== uid || stat.gid !== gid)) {
      fchownSync(fd, uid, gid ?? stat.gid);
      forgetCheckedServiceDirs(); // what lies below it is no longer only root's
    }
    fchmodSync(fd, Number.parseInt(dir.mode, 8));
  } catch (error) {
    throw fail((error as Error).message);
  } finally {
    closeSync(fd);
  }
}

/** As root, the process's user and group; otherwise nothing changes hands. */
function ownerOf(spec: ResolvedProcess): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0 || (spec.user === undefined && spec.group === undefined)) return {};
  const user = spec.user !== undefined ? lookupUser(spec.user) : undefined;
  const gid = spec.group !== undefined ? groupId(spec.group) : user?.gid;
  return { uid: user?.uid ?? 0, ...(gid !== undefined ? { gid } : {}) };
}

function groupId(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  const line = execFileSync("getent", ["group", group], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return Number(line.split(":")[2]);
}
