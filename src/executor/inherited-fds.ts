// Descriptors procman inherited from whoever started it (a shell's `3<secret`, a CI wrapper's
// pipe, sudo's) are closed before anything is spawned: neither libuv nor the spawning runners close
// descriptors above 2 in a child, so each would reach every service, including one that runs as
// another user — root's open files handed to it. Node and libuv open everything of their own with
// O_CLOEXEC, so a descriptor without that flag is an inherited one (systemd and supervisord close
// them all in their children too).
import { closeSync, readFileSync, readdirSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/** Closes every descriptor above 2 that is not close-on-exec; returns the ones closed. */
export function closeInheritedDescriptors(): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc/self/fd");
  } catch {
    return []; // no /proc: nothing can be told apart safely
  }
  const closed: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      const match = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"));
      if (match === null) continue;
      flags = Number.parseInt(match[1]!, 8);
    } catch {
      continue; // the directory's own descriptor, closed already
    }
    if ((flags & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return closed;
}
