// Running the commands under test: wall time from the start of the command to the moment the
// bench has verified the outcome in /proc, and the command's own peak memory (GNU time's %M).
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { sleep } from "./util.js";

const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
export const hasGnuTime = GNU_TIME !== undefined;

export interface CommandResult {
  readonly argv: readonly string[];
  readonly code: number | null;
  readonly signal: string | null;
  /** From just before the spawn to the exit of the command. */
  readonly exitMs: number;
  /** Peak resident set size of the command (and of the children it waited for), in kB. */
  readonly maxRssKB: number | undefined;
  /** The end of what it printed (stdout and stderr, both appended to `logFile`). */
  readonly output: string;
}

export interface CommandOptions {
  /** stdout and stderr are appended here (a file, not a pipe: a daemonizing command cannot hold the bench up). */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export class BenchError extends Error {}

export async function runCommand(argv: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const rssFile = `${options.logFile}.rss`;
  rmSync(rssFile, { force: true });
  const full = GNU_TIME !== undefined ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...argv] : [...argv];
  const log = openSync(options.logFile, "a");
  let outcome: { code: number | null; signal: string | null };
  const began = performance.now();
  let exitMs: number;
  try {
    const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", log, log], env: options.env ?? process.env, cwd: options.cwd ?? "/" });
    outcome = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    exitMs = performance.now() - began;
  } finally {
    closeSync(log);
  }
  let maxRssKB: number | undefined;
  try {
    // GNU time writes "Command exited with non-zero status N" before the value when it fails.
    const lines = readFileSync(rssFile, "utf8").trim().split("\n");
    const value = Number(lines[lines.length - 1]);
    if (Number.isFinite(value) && value > 0) maxRssKB = value;
  } catch {
    // no GNU time
  }
  return { argv, ...outcome, exitMs, maxRssKB, output: tail(options.logFile) };
}

function tail(file: string, bytes = 3000): string {
  try {
    const text = readFileSync(file, "latin1");
    return text.slice(-bytes);
  } catch {
    return "";
  }
}

export interface Measured {
  /** From the start of the command to the end of the /proc scan that verified the outcome. */
  readonly ms: number;
  readonly result: CommandResult;
}

/**
 * Runs the command, then looks at /proc until `verify` passes (undefined) or the time runs out.
 * The time ends when the command has exited AND the verifying scan is done: the state is never
 * assumed, and a scan (a few ms at N = 500, see the report's header) is the resolution.
 * Between two scans the bench sleeps twice as long as a scan took (at least 10 ms) so that its
 * polling does not take the CPU from the system under test.
 */
export async function measure(
  label: string,
  command: () => Promise<CommandResult>,
  verify: () => string | undefined,
  timeoutMs = 120_000,
): Promise<Measured> {
  const began = performance.now();
  const result = await command();
  if (result.code !== 0) {
    throw new BenchError(`${label}: \`${result.argv.join(" ")}\` exited with ${result.code ?? result.signal}:\n${result.output.slice(-1500)}`);
  }
  for (;;) {
    const scanBegan = performance.now();
    const reason = verify();
    const now = performance.now();
    if (reason === undefined) return { ms: now - began, result };
    if (now - began > timeoutMs) throw new BenchError(`${label}: not verified after ${Math.round(timeoutMs / 1000)} s: ${reason}`);
    await sleep(Math.max(10, 2 * (now - scanBegan)));
  }
}

/** Waits, untimed, until `check` passes; for clean-up between runs. */
export async function waitFor(label: string, check: () => string | undefined, timeoutMs = 60_000): Promise<void> {
  const began = performance.now();
  for (;;) {
    const reason = check();
    if (reason === undefined) return;
    if (performance.now() - began > timeoutMs) throw new BenchError(`${label}: ${reason} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(20);
  }
}
