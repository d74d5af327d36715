// Runs the built CLI (dist/src/cli/bin.js) as a user would: a separate node process, with a
// timeout, capturing exit code, stdout and stderr. Build first: `npx tsc -p .` (npm test does).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./paths.js";

export const BIN = path.join(ROOT, "dist", "src", "cli", "bin.js");

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Replaces the environment, but for what procman itself needs (see below). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

let checked = false;

/** Throws when dist is missing; warns when a source file is newer than its build. */
export function checkBuild(): void {
  if (checked) return;
  checked = true;
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first with \`npx tsc -p .\``);
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        const built = path.join(ROOT, "dist", path.relative(ROOT, file)).replace(/\.ts$/, ".js");
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs) stale.push(path.relative(ROOT, file));
      }
    }
  };
  walk(path.join(ROOT, "src"));
  if (stale.length > 0) console.warn(`  WARNING: dist is older than ${stale.join(", ")}; rebuild with \`npx tsc -p .\``);
}

/** `procman ...args`; never throws for a non-zero exit. */
export function procman(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  checkBuild();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/nonexistent",
    NO_COLOR: "1",
    ...options.env,
  };
  return runCaptured(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env }, options.timeoutMs ?? 20_000, `procman ${args.join(" ")}`);
}

/**
 * Runs a command to its end, capturing its output; never throws for a non-zero exit. Past
 * `timeoutMs` it is SIGKILLed and the promise rejects with what it printed (`what` names it).
 */
export function runCaptured(
  file: string,
  argv: readonly string[],
  options: { cwd?: string; env: Record<string, string>; uid?: number; gid?: number },
  timeoutMs: number,
  what: string,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** For assertion messages. */
export function show(run: CliRun): string {
  return `exit ${run.code}${run.signal !== null ? ` (${run.signal})` : ""}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}
