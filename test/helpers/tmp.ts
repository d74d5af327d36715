// Temporary directories under os.tmpdir(), removed when the test process exits (or earlier with
// removeTempDirs, e.g. from a suite's `after` hook).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const created = new Set<string>();
let hooked = false;

export function makeTempDir(prefix = "procman-test-"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.add(dir);
  if (!hooked) {
    hooked = true;
    process.on("exit", removeTempDirs);
  }
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
  created.clear();
}

/** Writes `files` (relative path → contents) into a fresh temp dir; returns the dir. */
export function tempDirWith(files: Readonly<Record<string, string>>, prefix?: string): string {
  const dir = makeTempDir(prefix);
  for (const [name, contents] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, contents);
  }
  return dir;
}
