// The process tree of a bench script. It starts once as the "outer" process: that makes the
// bench's temp dir under os.tmpdir(), compiles the C programs (bench/c) into it, and runs the same
// script again — the "inner" process, which does the work — under the reaper: a child subreaper
// that reaps orphans as a real init would (PID 1 in some containers never does). When the inner
// process ends, the outer one kills whatever still names the temp dir and removes it.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { liveProcesses } from "./proc.js";

const cDir = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), "c");

/**
 * In the outer process: runs the script (its `import.meta.url`) as the inner one and returns
 * undefined once it has ended (process.exitCode is set). In the inner process: returns the temp dir.
 */
export async function harness(scriptUrl: string): Promise<string | undefined> {
  if (process.env.BENCH_ROOT !== undefined) return process.env.BENCH_ROOT;
  const root = mkdtempSync(path.join(os.tmpdir(), "procman-bench-"));
  const bin = path.join(root, "bin");
  mkdirSync(bin);
  try {
    for (const name of ["reaper", "floor", "fixture"]) {
      execFileSync("gcc", ["-O2", "-Wall", "-o", path.join(bin, name), path.join(cDir, `${name}.c`)], { stdio: "inherit" });
    }
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const child = spawn(path.join(bin, "reaper"), [process.execPath, ...process.execArgv, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_ROOT: root },
  });
  // Ctrl-C reaches the inner process too; it cleans up and exits.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await new Promise<number>((resolve) => child.once("exit", (status, signal) => resolve(status ?? (signal !== null ? 1 : 0))));
  const left = sweep(root);
  if (left > 0) process.stderr.write(`bench: killed ${left} processes left behind under ${root}\n`);
  rmSync(root, { recursive: true, force: true });
  process.exitCode = code;
  return undefined;
}

/** SIGKILL, by PID, every live process whose command line names the bench's temp dir (all of them ours). */
export function sweep(root: string): number {
  const exclude = new Set([process.pid, process.ppid]);
  let killed = 0;
  for (const found of liveProcesses(root, "includes")) {
    if (exclude.has(found.pid)) continue;
    try {
      process.kill(found.pid, "SIGKILL");
      killed++;
    } catch {
      // gone
    }
  }
  return killed;
}
