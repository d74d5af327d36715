// Runs the real Graphviz `dot` on DOT text.
import { spawnSync } from "node:child_process";

export interface DotRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runDot(dot: string, format = "svg"): DotRun {
  const result = spawnSync("dot", [`-T${format}`], { input: dot, encoding: "utf8", timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts-free check: dot exits 0, prints nothing on stderr (warnings included) and an <svg>. */
export function dotAccepts(dot: string): { ok: boolean; detail: string; svg: string } {
  const run = runDot(dot);
  const ok = run.status === 0 && run.stderr.trim() === "" && run.stdout.includes("<svg");
  return { ok, detail: `dot exited ${run.status}: ${run.stderr}`, svg: run.stdout };
}
