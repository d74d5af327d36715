// Starting processes: the only place procman spawns what the model declares. Foreground processes
// are daemonized here (new session and process group, stdin /dev/null, output appended to the
// log); daemons are run and must leave a PID file naming a process that can be the daemon just
// launched (pid-trust). A failed start leaves nothing: whatever carries its tag is stopped.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, lstatSync, rmSync, statSync, unlinkSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Command, ResolvedProcess } from "../model/types.js";
import { makeOwnDirectories } from "./own-directories.js";
import { writeFileAtomic } from "./atomic.js";
import { logTailSince, openLog, openLogAsync, type LogIdentity } from "./log-file.js";
import { openNotifyChannel, type NotifyChannel } from "./notify.js";
import { UntrustedPidError, verifyDaemonPid } from "./pid-trust.js";
import { identityOf, readProcStat, ticksNow, type ProcessIdentity } from "./proc.js";
import { sleep } from "./readiness.js";
import { changesIdentity, lookupUser, withUmask, wrapCommand } from "./run-as.js";
import { readPidLine } from "./safe-file.js";
import { checkServiceFileDir } from "./dir-trust.js";
import { RunnerUnavailableError, type SpawnRunner, type Spawned } from "./spawn-runner.js";
import { TAG_VARIABLE, sweepSettingsOf, sweepTagged, tagFor } from "./tag-sweep.js";
import { makeDirectories } from "./atomic.js";

export { TAG_VARIABLE, tagFor } from "./tag-sweep.js";
export { wrapCommand } from "./run-as.js";

export class StartError extends Error {
  constructor(
    readonly process: string,
    message: string,
    /** Where this start's part of the log begins, when the log was opened. */
    readonly logOffset?: number,
  ) {
    super(message);
  }
}

/** How a child of procman ended (only a parent learns it; a daemon's is unknown). */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export function describeExit(status: ExitStatus | undefined): string {
  if (status === undefined) return "exited";
  return status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}

export interface Launched extends ProcessIdentity {
  /** Size of the log before the start: readiness by log line and failure tails read only what came after. */
  readonly logOffset: number;
  /** Its process group and session at the start (foreground: the session procman created). */
  readonly pgid: number;
  readonly sid: number;
  /** The log procman opened for it: a later open must find the same file. */
  readonly log: LogIdentity;
  /** Date.now() right before the spawn. */
  readonly launchedAt: number;
  /** Foreground: resolves when procman's child exits (looked up on first use). Never resolves for a daemon. */
  readonly exit: PromiseLike<ExitStatus>;
  /** readiness notify: the channel the process reports on. */
  readonly notify?: NotifyChannel;
  /**
   * With a runner: the PID file is written off procman's thread (file creation blocks for
   * milliseconds on a busy disk) while the readiness wait goes on. Await it before the process
   * counts as ready; it rejects with a StartError.
   */
  readonly pidFileWritten?: Promise<void>;
  /** Forked by the runner (options.runner), not by procman: its exit comes from the runner. */
  readonly viaRunner?: true;
}

export interface LaunchOptions {
  /** PIDs and process groups recorded for other processes (pid-trust claimedIds). */
  readonly claimed?: ReadonlySet<number>;
  /** PIDs a PID file may never name besides procman and its ancestors (the supervisor). */
  readonly exclude?: readonly number[];
  /** The log recorded at an earlier start. */
  readonly knownLog?: LogIdentity;
  /** Foreground processes are forked by this shell instead of by procman (see spawn-runner.ts). */
  readonly runner?: SpawnRunner;
}

export async function launch(spec: ResolvedProcess, specHash: string, stateDir: string, options: LaunchOptions = {}): Promise<Launched> {
  const tag = tagFor(spec.name, specHash, stateDir);
  // Before initialize (initdb needs its data directory), before the PID file that may live in it,
  // and before the check of a working directory that may be one of them.
  makeOwnDirectories(spec);
  checkDirectory(spec);
  // Its PID file and readiness file are removed and written here, as procman's user (often root).
  try {
    checkServiceFileDir(spec.pidFile);
    if (spec.readiness.kind === "file") checkServiceFileDir(spec.readiness.path);
  } catch (error) {
    throw new StartError(spec.name, (error as Error).message);
  }
  const made = options.runner?.directories;
  mkdirFor(spec.pidFile, made);
  let log;
  try {
    // With a runner (a batch of starts), through the thread pool. Without, everything up to the
    // spawn stays synchronous: its caller may rely on the spawn having happened when launch yields.
    log = options.runner !== undefined ? await openLogAsync(spec.logFile, options.knownLog, made) : openLog(spec.logFile, options.knownLog);
  } catch (error) {
    throw new StartError(spec.name, `cannot open its log: ${(error as Error).message}`);
  }
  let notify: NotifyChannel | undefined;
  try {
    const environment = { ...spec.environment, [TAG_VARIABLE]: tag };
    if (spec.readiness.kind === "file") removeReadyFile(spec.readiness.path);
    if (spec.initialize !== undefined) {
      const outcome = await runToExit(spec, { executable: "/bin/sh", args: ["-c", spec.initialize] }, environment, log.fd, spec.readiness.timeout);
      if (outcome !== undefined) throw new StartError(spec.name, `initialize failed (${outcome})`);
    }
    const base = { logOffset: log.offset, log: { dev: log.dev, ino: log.ino } };
    if (spec.mode === "foreground") {
      if (spec.readiness.kind === "notify") notify = openNotifyChannel(path.join(stateDir, "lib", "procman"), spec.name);
      return { ...base, ...(await launchForeground(spec, spec.foreground!, environment, log.fd, notify, options.runner)), ...(notify !== undefined ? { notify } : {}) };
    }
    // A daemon double-forks away from any descriptor procman could hand it.
    if (spec.readiness.kind === "notify") throw new StartError(spec.name, "readiness notify needs a foreground process");
    return { ...base, ...(await launchDaemon(spec, spec.daemon!, environment, log.fd, options)) };
  } catch (error) {
    notify?.close();
    // Nothing records it yet: what the start left running (a double-forked child, a daemon's
    // workers, initialize's background jobs) carries this start's tag and goes now.
    await sweepTagged(new Map([[tag, sweepSettingsOf(spec)]]), { exclude: options.exclude, confirmMs: 50 });
    if (error instanceof StartError) throw new StartError(spec.name, error.message, log.offset);
    throw new StartError(spec.name, (error as Error).message, log.offset);
  } finally {
    closeSync(log.fd);
  }
}

type Started = Omit<Launched, "logOffset" | "log" | "notify">;

async function launchForeground(
  spec: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  logFd: number,
  notify: NotifyChannel | undefined,
  runner: SpawnRunner | undefined,
): Promise<Started> {
  const launchedAt = Date.now();
  let pid: number;
  let exit: PromiseLike<ExitStatus>;
  let identity: ProcessIdentity | undefined;
  const argv = wrapCommand(spec, command);
  const viaRunner = runner !== undefined && notify === undefined && runner.canRun(argv[0]!, environment, argv);
  let spawned: Spawned | undefined;
  // The runner writes the PID file right after its fork where it can (not one the process itself writes).
  const runnerWritesPidFile = viaRunner && runner.writesPidFiles && spec.readiness.kind !== "pidFile";
  if (viaRunner) {
    try {
      spawned = await runner.spawn({
        argv,
        environment,
        directory: spec.directory ?? "/",
        umask: spec.umask,
        logFd,
        ...(runnerWritesPidFile ? { pidFile: spec.pidFile } : {}),
      });
    } catch (error) {
      // Nothing was started: spawn directly. Otherwise the shell may have forked it: fail (the tag sweep cleans up).
      if (!(error instanceof RunnerUnavailableError)) throw new StartError(spec.name, `cannot run ${command.executable}: ${(error as Error).message}`);
    }
  }
  if (spawned !== undefined) {
    pid = spawned.pid;
    // Its start time, read while the child could not be reaped: the identity every later signal is checked against.
    identity = spawned.startTime === undefined ? identityOf(pid) : spawned.dead === true ? undefined : { pid, startTime: spawned.startTime };
    exit = runner!.exitOf(pid, identity?.startTime ?? spawned.startTime ?? "");
    // Dead at once: the PID file the runner wrote names no process of ours.
    if (identity === undefined && runnerWritesPidFile) {
      await spawned.pidFileWritten; // written after the batch's forks: remove it only once it is there
      rmSync(spec.pidFile, { force: true });
    }
  } else {
    const child = await spawnDetached(spec, argv, command, environment, logFd, notify);
    notify?.releaseChildEnd();
    pid = child.pid!;
    exit = exitOf(child);
    identity = identityOf(pid);
  }
  if (identity === undefined) {
    const status = await Promise.race([exit, sleep(500).then(() => undefined)]);
    throw new StartError(spec.name, `${describeExit(status)} at once`);
  }
  const cannotWrite = (error: unknown) =>
    new StartError(spec.name, `cannot write its PID file ${spec.pidFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  // procman created its session and group: the one group procman may signal as a whole.
  const started = { ...identity, pgid: pid, sid: pid, launchedAt, exit };
  // A PID file written off procman's thread: awaited by the caller before the process counts as ready.
  const later = (written: Promise<void>): Started => {
    written.catch(() => undefined); // awaited by the caller; never an unhandled rejection
    return { ...started, pidFileWritten: written, viaRunner: true };
  };
  if (runnerWritesPidFile) {
    // Written by the runner before it answered (the supervisor's): a failure is a failed start
    // (launch's sweep stops it). Or after the forks of a batch.
    if (spawned!.pidFileError !== undefined) throw cannotWrite({ code: spawned!.pidFileError });
    if (spawned!.pidFileWritten === undefined) return { ...started, viaRunner: true };
    return later(
      spawned!.pidFileWritten.then((error) => {
        if (error !== undefined) throw cannotWrite({ code: error });
      }),
    );
  }
  if (spawned !== undefined && spec.readiness.kind !== "pidFile") {
    return later(
      writePidFile(spec.pidFile, pid).catch((error: unknown) => {
        throw cannotWrite(error);
      }),
    );
  }
  // Without a runner (the supervisor's starts): written here, synchronously. Through the thread
  // pool it measured slower there (3.6 → 4.5 s for 500 supervised starts).
  try {
    writeFileAtomic(spec.pidFile, `${pid}\n`, 0o644, false);
  } catch (error) {
    throw cannotWrite(error);
  }
  return started;
}

/**
 * The PID file as writeFileAtomic writes it (a hidden, unguessable temp file created without
 * following a link, then one rename: a reader sees no file, the old one or the whole new one),
 * through the thread pool. Its directory was made before the start.
 */
async function writePidFile(file: string, pid: number): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    try {
      const data = Buffer.from(`${pid}\n`);
      const { bytesWritten } = await handle.write(data, 0, data.length, 0);
      if (bytesWritten !== data.length) throw Object.assign(new Error("short write"), { code: "EIO" });
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function launchDaemon(
  spec: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  logFd: number,
  options: LaunchOptions,
): Promise<Started> {
  // A PID file left from before could name an unrelated process: it must not be taken for the new daemon.
  rmSync(spec.pidFile, { force: true });
  const timeout = spec.readiness.timeout;
  const uid = changesIdentity(spec) && spec.user !== undefined ? lookupUser(spec.user).uid : undefined;
  const launchedAt = Date.now();
  // The floor for the daemon's start time: the launcher's own, or now if it is gone already.
  let launcherStartTime = ticksNow();
  const outcome = await runToExit(spec, command, environment, logFd, timeout, (pid) => {
    launcherStartTime = readProcStat(pid)?.startTime || launcherStartTime;
  });
  if (outcome !== undefined) throw new StartError(spec.name, `the daemon command failed (${outcome})`);
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    let text: string | undefined;
    try {
      text = readPidLine(spec.pidFile);
    } catch (error) {
      throw new StartError(spec.name, `PID file ${(error as Error).message}`);
    }
    if (text !== undefined && text !== "") {
      try {
        const verified = verifyDaemonPid({
          pidFile: spec.pidFile,
          text,
          launcherStartTime,
          ...(options.exclude !== undefined ? { exclude: options.exclude } : {}),
          ...(options.claimed !== undefined ? { claimed: options.claimed } : {}),
          ...(uid !== undefined ? { uid } : {}),
        });
        if (verified !== undefined) return { ...verified, launchedAt, exit: new Promise<never>(() => undefined) };
      } catch (error) {
        if (error instanceof UntrustedPidError) throw new StartError(spec.name, error.message);
        throw error;
      }
    }
    if (Date.now() >= deadline) {
      throw new StartError(spec.name, `the daemon exited 0 but ${spec.pidFile} did not name a live process within ${timeout} s`);
    }
    await sleep(Math.min(100, spec.readiness.interval * 1000));
  }
}

/** readiness file: one left from an earlier run must not count. The link itself goes, never its target. */
function removeReadyFile(file: string): void {
  try {
    if (lstatSync(file).isDirectory()) throw new Error(`readiness file ${file} is a directory`);
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** `made`: the directories this command made already (one mkdir per directory, not per process). */
function mkdirFor(file: string, made?: Set<string>): void {
  const dir = path.dirname(file);
  if (made?.has(dir) === true) return;
  makeDirectories(dir, 0o755);
  made?.add(dir);
}

/** spawn reports a missing cwd as ENOENT of the executable: say what is missing. */
function checkDirectory(spec: ResolvedProcess): void {
  if (spec.directory === undefined) return;
  let ok = false;
  try {
    ok = statSync(spec.directory).isDirectory();
  } catch {
    // missing
  }
  if (!ok) throw new StartError(spec.name, `directory ${spec.directory} does not exist or is not a directory`);
}

function ignoreError(): void {
  // after the spawn: nothing waits for it any more (the exit event tells the end)
}

function exitOf(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

function spawnDetached(
  spec: ResolvedProcess,
  argv: readonly string[],
  command: Command,
  environment: Record<string, string>,
  logFd: number,
  notify: NotifyChannel | undefined,
): Promise<ChildProcess> {
  const [executable, ...args] = argv;
  const stdio: (number | "ignore")[] = ["ignore", logFd, logFd];
  if (notify !== undefined && spec.readiness.kind === "notify") {
    while (stdio.length < spec.readiness.fd) stdio.push("ignore");
    stdio[spec.readiness.fd] = notify.childFd;
  }
  const child = withUmask(spec.umask, () =>
    spawn(executable!, args, {
      detached: true, // setsid: its own session and process group
      stdio,
      env: environment,
      cwd: spec.directory ?? "/",
    }),
  );
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new StartError(spec.name, `cannot run ${command.executable}: ${error.code ?? error.message}`));
    child.once("error", failed);
    child.once("spawn", () => {
      // The supervisor keeps its children for their exit status: a listener left on one (or a
      // closure made here) would keep this call's spec, environment and arguments alive as long as
      // the child runs.
      child.removeListener("error", failed);
      child.on("error", ignoreError);
      child.unref();
      resolve(child);
    });
  });
}

/** Runs a command to its end (initialize, a daemon's launcher) with output to the log: undefined on exit 0, else why. */
async function runToExit(
  spec: ResolvedProcess,
  command: Command,
  environment: Record<string, string>,
  logFd: number,
  timeoutSeconds: number,
  onSpawn?: (pid: number) => void,
): Promise<string | undefined> {
  const [executable, ...args] = wrapCommand(spec, command);
  const child = withUmask(spec.umask, () =>
    spawn(executable!, args, { detached: true, stdio: ["ignore", logFd, logFd], env: environment, cwd: spec.directory ?? "/" }),
  );
  if (child.pid !== undefined) onSpawn?.(child.pid);
  return new Promise<string | undefined>((resolve) => {
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
}

/** The last lines this run logged (from `offset`), for failure messages; read within a bound. */
export function logTail(file: string, offset = 0, lines = 15): string {
  return logTailSince(file, offset, lines);
}
