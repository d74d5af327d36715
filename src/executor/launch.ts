// Starting processes: the only place procman spawns what the model declares. Foreground processes
// are daemonized here (new session and process group, stdin /dev/null, output appended to the
// log); daemons are run and must leave a PID file naming a live process.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { MINIMAL_PATH } from "../model/normalize.js";
import type { Command, ResolvedProcess } from "../model/types.js";
import { writeFileAtomic } from "./atomic.js";
import { identityOf, isLive, listPids, readEnvironmentVariable, readProcStat, type ProcessIdentity } from "./proc.js";
import { readPidFile, sleep } from "./readiness.js";
import { terminate } from "./terminate.js";

/** Environment variable that marks every process procman spawns: `<name>:<specHash>:<stateDir>`. */
export const TAG_VARIABLE = "PROCMAN_TAG";

export function tagFor(name: string, specHash: string, stateDir: string): string {
  return `${name}:${specHash}:${stateDir}`;
}

export class StartError extends Error {
  constructor(readonly process: string, message: string) {
    super(message);
  }
}

export interface Launched extends ProcessIdentity {
  /** Size of the log before the start: readiness by log line only reads what came after. */
  readonly logOffset: number;
  readonly pgid: number;
}

/** How a foreground process's exit reaches its parent (the supervisor); daemons are never children. */
export type ExitListener = (code: number | null, signal: NodeJS.Signals | null, pid: number) => void;

export async function launch(process: ResolvedProcess, specHash: string, stateDir: string, onExit?: ExitListener): Promise<Launched> {
  mkdirSync(path.dirname(process.logFile), { recursive: true, mode: 0o755 });
  mkdirSync(path.dirname(process.pidFile), { recursive: true, mode: 0o755 });
  checkDirectory(process);
  const logOffset = fileSize(process.logFile);
  const environment = { ...process.environment, [TAG_VARIABLE]: tagFor(process.name, specHash, stateDir) };
  if (process.initialize !== undefined) {
    const code = await runToExit(process, { executable: "/bin/sh", args: ["-c", process.initialize] }, environment, process.readiness.timeout);
    if (code !== undefined) throw new StartError(process.name, `initialize failed (${code})`);
  }
  return process.mode === "foreground"
    ? launchForeground(process, process.foreground!, environment, logOffset, onExit)
    : launchDaemon(process, process.daemon!, environment, logOffset);
}

async function launchForeground(
  process: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  logOffset: number,
  onExit?: ExitListener,
): Promise<Launched> {
  const child = await spawnDetached(process, command, environment, onExit);
  const identity = identityOf(child);
  if (identity === undefined) throw new StartError(process.name, "exited at once");
  try {
    writeFileAtomic(process.pidFile, `${child}\n`, 0o644, false);
  } catch (error) {
    // Nothing records it yet: stop it now, or it would run on untracked.
    await terminate({ name: process.name, ...identity, stopSignal: process.stop.signal, stopTimeout: process.stop.timeout });
    throw new StartError(process.name, `cannot write its PID file ${process.pidFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return { ...identity, pgid: child, logOffset };
}

async function launchDaemon(
  process: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  logOffset: number,
): Promise<Launched> {
  // A PID file left from before could name an unrelated process: it must not be taken for the new daemon.
  rmSync(process.pidFile, { force: true });
  const timeout = process.readiness.timeout;
  try {
    const code = await runToExit(process, command, environment, timeout);
    if (code !== undefined) throw new StartError(process.name, `the daemon command failed (${code})`);
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      const identity = readPidFile(process.pidFile);
      if (identity !== undefined) return { ...identity, pgid: readProcStat(identity.pid)?.pgrp ?? identity.pid, logOffset };
      if (Date.now() >= deadline) {
        throw new StartError(process.name, `the daemon exited 0 but ${process.pidFile} did not name a live process within ${timeout} s`);
      }
      await sleep(Math.min(100, process.readiness.interval * 1000));
    }
  } catch (error) {
    // Nothing was recorded, so nothing would ever stop what the daemon command left running.
    await stopTagged(environment[TAG_VARIABLE]!, process);
    throw error;
  }
}

/**
 * After a failed daemon start: stops what the command left running (it carries this start's tag).
 * No other instance has the tag: what ran before under this name was stopped before this start.
 */
async function stopTagged(tag: string, process: ResolvedProcess): Promise<void> {
  for (const pid of listPids()) {
    if (pid === globalThis.process.pid) continue;
    const stat = readProcStat(pid);
    if (!isLive(stat) || readEnvironmentVariable(pid, TAG_VARIABLE) !== tag) continue;
    await terminate({ name: process.name, pid, startTime: stat.startTime, stopSignal: process.stop.signal, stopTimeout: process.stop.timeout });
  }
}

/** argv with the helpers Node cannot replace: nice before exec, then the identity switch. */
export function wrapCommand(process: ResolvedProcess, command: Command): string[] {
  let argv = [command.executable, ...command.args];
  const root = globalThis.process.getuid?.() === 0;
  if (root && (process.user !== undefined || process.group !== undefined)) {
    const ids = process.user !== undefined ? ["--reuid", process.user, "--init-groups"] : ["--clear-groups"];
    const group = process.group !== undefined ? ["--regid", process.group] : [];
    argv = [systemTool("setpriv"), ...ids, ...group, "--", ...argv];
  }
  if (process.nice !== undefined) argv = [systemTool("nice"), "-n", String(process.nice), "--", ...argv];
  return argv;
}

/** procman's own helpers come from the system, not from the PATH the model gives the process. */
function systemTool(name: string): string {
  for (const dir of MINIMAL_PATH.split(":")) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return name;
}

/** spawn reports a missing cwd as ENOENT of the executable: say what is missing. */
function checkDirectory(process: ResolvedProcess): void {
  if (process.directory === undefined) return;
  let ok = false;
  try {
    ok = statSync(process.directory).isDirectory();
  } catch {
    // missing
  }
  if (!ok) throw new StartError(process.name, `directory ${process.directory} does not exist or is not a directory`);
}

function spawnDetached(process: ResolvedProcess, command: Command, environment: Record<string, string>, onExit?: ExitListener): Promise<number> {
  const [executable, ...args] = wrapCommand(process, command);
  const log = openSync(process.logFile, "a", 0o644);
  try {
    const child = withUmask(process.umask, () =>
      spawn(executable!, args, {
        detached: true, // setsid: its own session and process group
        stdio: ["ignore", log, log],
        env: environment,
        cwd: process.directory ?? "/",
      }),
    );
    return new Promise((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) =>
        reject(new StartError(process.name, `cannot run ${command.executable}: ${error.code ?? error.message}`)),
      );
      child.once("spawn", () => {
        if (onExit !== undefined) child.once("exit", (code, signal) => onExit(code, signal, child.pid!));
        child.unref();
        resolve(child.pid!);
      });
    });
  } finally {
    closeSync(log);
  }
}

/** Runs a command to its end (initialize, a daemon's launcher) with output to the log: undefined on exit 0, else why. */
async function runToExit(
  process: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  timeoutSeconds: number,
): Promise<string | undefined> {
  const [executable, ...args] = wrapCommand(process, command);
  const log = openSync(process.logFile, "a", 0o644);
  try {
    const child = withUmask(process.umask, () =>
      spawn(executable!, args, { detached: true, stdio: ["ignore", log, log], env: environment, cwd: process.directory ?? "/" }),
    );
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        try {
          globalThis.process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, timeoutSeconds * 1000);
      child.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve(`cannot run ${command.executable}: ${error.code ?? error.message}`);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        resolve(code === 0 ? undefined : signal !== null ? `killed by ${signal}` : `exit code ${code}`);
      });
    });
  } finally {
    closeSync(log);
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last lines of a log, for failure messages. */
export function logTail(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.split("\n").slice(-lines - 1).join("\n").trimEnd();
  } catch {
    return "";
  }
}

/**
 * Runs spawn with the process's umask. The child inherits procman's umask at fork, and spawn forks
 * synchronously, so it is set just around the call and restored: no shell in between to add PWD or
 * reset IFS and OPTIND, and nothing else of procman's runs meanwhile.
 */
function withUmask<T>(umask: string | undefined, run: () => T): T {
  if (umask === undefined) return run();
  const previous = globalThis.process.umask(Number.parseInt(umask, 8));
  try {
    return run();
  } finally {
    globalThis.process.umask(previous);
  }
}
