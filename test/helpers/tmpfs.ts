// A small tmpfs of its own for a test (a full disk, a read-only file system): mounted when the
// tests run as root, unmounted after; without the rights the test skips, saying so (not in CI).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { makeTempDir } from "./tmp.js";

/** Mounts a tmpfs of `options` on a fresh dir, runs `body`, unmounts. Skips (saying so) when it cannot mount. */
export async function withTmpfs(name: string, options: string, body: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = path.join(makeTempDir(), "mnt");
  mkdirSync(dir);
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { encoding: "utf8" });
  if (mount.status !== 0) {
    const why = `cannot mount a tmpfs (${(mount.stderr || mount.error?.message || "").trim() || "not root?"})`;
    if (process.env.CI === "true") throw new Error(`${name}: ${why}; required in CI`);
    console.log(`  SKIP ${name}: ${why}`);
    return;
  }
  try {
    await body(dir);
  } finally {
    spawnSync("umount", [dir]);
  }
}

