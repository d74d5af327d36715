// The lead's side of the supervisor: find it, start it, and ask it over its control socket. The
// transaction pauses it (waiting until nothing of its own is in flight), reads the records, spawns
// through it what it starts (so the supervisor is the parent and learns exit statuses), tells it
// what it is about to stop, and resumes it; `stop` ends it after the processes.
import { spawn } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcmanError } from "../errors.js";
import { StartError, logTail, type ExitStatus, type Launched } from "../executor/launch.js";
import { checkIdentity, stillRuns } from "../executor/proc.js";
import type { ResolvedProcess } from "../model/types.js";
import { SOCKET_NAME, SUN_PATH_MAX, supervisorPaths } from "./paths.js";
import { liveSupervisor } from "./pid-file.js";
import { isHandoverEvent, lineReader, type Answer, type HandoverEvent } from "./protocol.js";
import type { SupervisorEvent } from "./supervisor.js";
import { makeDirectories } from "../executor/atomic.js";

export type LaunchResult = Launched;

export interface SupervisorClient {
  readonly pid: number;
  /** Stop acting on its own (restarts, liveness kills) and resolve once nothing is in flight. */
  pause(): Promise<void>;
  /** Re-read the current generation and records from disk, then act again; resolves with the
   *  decisions of its first look (a process that died meanwhile: backoff, restarting, failed). */
  resume(): Promise<readonly HandoverEvent[]>;
  /** Spawn one process as the supervisor's child; readiness is waited for by the caller. */
  spawn(spec: ResolvedProcess, specHash: string): Promise<LaunchResult>;
  /** The caller is about to stop these: their exits are not failures. `operator`: `procman stop NAME`,
   *  recorded as state "stopped", never undone by the supervisor (a switch or start clears it). */
  expectStop(names: readonly string[], operator?: boolean): Promise<void>;
  /** End the supervisor (after the caller stopped the processes); resolves once it is gone. */
  shutdown(): Promise<void>;
  close(): void;
}

/** The supervisor's error, raised in the caller with its code (ESTART keeps StartError's class). */
export class SupervisorError extends ProcmanError {
  constructor(message: string, code = "ESUPERVISOR") {
    super(code, message, 1);
  }
}

export function supervisorStatus(stateDir: string): { running: boolean; pid: number | null } {
  const identity = liveSupervisor(supervisorPaths(stateDir).pidFile);
  return identity !== undefined ? { running: true, pid: identity.pid } : { running: false, pid: null };
}

export async function connectSupervisor(stateDir: string): Promise<SupervisorClient | undefined> {
  const paths = supervisorPaths(stateDir);
  const deadline = Date.now() + 5000;
  for (;;) {
    const identity = liveSupervisor(paths.pidFile);
    if (identity === undefined) return undefined;
    try {
      const socket = await connectSocket(paths.lib);
      const client = new SocketClient(identity.pid, identity.startTime, socket);
      await client.request({ op: "hello" });
      return client;
    } catch (error) {
      // Starting (PID file written, not listening yet) or ending: look again until it decides.
      if (Date.now() >= deadline) throw new SupervisorError(`the supervisor (PID ${identity.pid}) does not answer on ${paths.socket}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Starts a supervisor for the state dir, detached; it is paused until resume(). */
export async function startSupervisor(stateDir: string): Promise<SupervisorClient> {
  const paths = supervisorPaths(stateDir);
  const running = liveSupervisor(paths.pidFile);
  if (running !== undefined) throw new SupervisorError(`a supervisor already runs for ${stateDir} (PID ${running.pid})`, "ESUPERVISING");
  // stateDir/lib also holds the services' own stateDirectory (traversable); lib/procman is procman's alone.
  makeDirectories(path.dirname(paths.lib), 0o755);
  makeDirectories(paths.lib, 0o700);
  makeDirectories(path.dirname(paths.log), 0o755);
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
  const log = openSync(paths.log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o644);
  let child;
  try {
    child = spawn(process.execPath, [...entryArguments(), stateDir], {
      detached: true, // its own session: a Ctrl-C of the terminal that ran procman does not reach it
      stdio: ["ignore", log, log],
      cwd: "/",
      // Never tagged: a tag sweep of this state dir (procman stop) must not take the supervisor for a service.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "PROCMAN_TAG")),
    });
  } finally {
    closeSync(log);
  }
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = signal ?? String(code)));
  child.once("error", (error) => (exited = error.message));
  child.unref();
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited !== undefined) throw new SupervisorError(`the supervisor did not start (${exited}): ${logTail(paths.log, 5)}`);
    const identity = liveSupervisor(paths.pidFile);
    if (identity !== undefined && identity.pid === child.pid) {
      try {
        const socket = await connectSocket(paths.lib);
        const client = new SocketClient(identity.pid, identity.startTime, socket);
        await client.request({ op: "hello" });
        return client;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() >= deadline) throw new SupervisorError(`the supervisor did not answer within 15 s: ${logTail(paths.log, 5)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

declare const PROCMAN_BUNDLED: boolean | undefined;

/**
 * The supervisor is resident: these flags trade speed it does not need for memory (measured with
 * bench/supervisor-memory.ts, N = 500: about 65 MB RSS without them, 50 MB with them; crash to
 * restart and the CPU of plain supervision unchanged, JavaScript-heavy work such as a liveness
 * check per process per second about a quarter more CPU). --lite-mode: interpreter only (no JIT, whose code and compiler
 * pages would be resident) and lazily allocated feedback; --no-expose-wasm: lite mode has no
 * WebAssembly anyway, and says so on stderr unless told; --compact-on-every-full-gc: the burst of a
 * switch (500 spawns) otherwise leaves old-space pages half empty and resident; a small young
 * generation (1 MB semi-spaces).
 */
export const SUPERVISOR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--lite-mode", "--no-expose-wasm", "--compact-on-every-full-gc"];

/**
 * How to run main: from the bundle its own CommonJS file (scripts/bundle.mjs), from the tsc build
 * main.js, from source (tests) main.ts through tsx; with the same flags, so that tests run them.
 */
function entryArguments(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) return [...SUPERVISOR_NODE_FLAGS, "--import", import.meta.resolve("tsx"), path.join(path.dirname(here), "main.ts")];
  const bundled = typeof PROCMAN_BUNDLED !== "undefined" && PROCMAN_BUNDLED;
  return [...SUPERVISOR_NODE_FLAGS, path.join(path.dirname(here), bundled ? "supervisor.cjs" : "main.js")];
}

/**
 * Connects to lib/procman/supervisor.sock. A path longer than sun_path is reached relative to its
 * directory: connect() on a unix socket runs synchronously in the call, so the working directory is
 * changed only around it (Node would otherwise truncate the path silently).
 */
function connectSocket(lib: string): Promise<net.Socket> {
  const full = path.join(lib, SOCKET_NAME);
  let socket: net.Socket;
  if (Buffer.byteLength(full) <= SUN_PATH_MAX) socket = net.connect(full);
  else {
    const cwd = process.cwd();
    process.chdir(lib);
    try {
      socket = net.connect(SOCKET_NAME);
    } finally {
      process.chdir(cwd);
    }
  }
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

class SocketClient implements SupervisorClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private closed: Error | undefined;

  constructor(readonly pid: number, private readonly startTime: string, private readonly socket: net.Socket) {
    socket.on(
      "data",
      lineReader(
        (line) => this.answer(JSON.parse(line) as Answer),
        () => socket.destroy(),
      ),
    );
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = new SupervisorError(`the supervisor (PID ${pid}) closed its control socket`);
      for (const { reject } of this.waiting.values()) reject(this.closed);
      this.waiting.clear();
    });
  }

  request(body: Record<string, unknown> & { op: string }): Promise<unknown> {
    if (this.closed !== undefined) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  private answer(answer: Answer): void {
    const waiter = this.waiting.get(answer.id);
    if (waiter === undefined) return;
    this.waiting.delete(answer.id);
    if (answer.ok) waiter.resolve(answer.result);
    else if (answer.error.code === "ESTART" && answer.error.process !== undefined) {
      waiter.reject(new StartError(answer.error.process, answer.error.message, answer.error.logOffset));
    } else waiter.reject(new SupervisorError(`supervisor: ${answer.error.message}`, answer.error.code));
  }

  async pause(): Promise<void> {
    await this.request({ op: "pause" });
  }

  async resume(): Promise<readonly HandoverEvent[]> {
    return handoverEvents(await this.request({ op: "resume" }));
  }

  async spawn(spec: ResolvedProcess, specHash: string): Promise<LaunchResult> {
    const launched = (await this.request({ op: "spawn", spec, specHash })) as Omit<LaunchResult, "exit">;
    // The supervisor is the parent: it tells the exit status when the child exits (a daemon, no
    // child of anyone, never). A closed connection leaves it unknown.
    const exit =
      spec.mode === "foreground"
        ? (this.request({ op: "exit", pid: launched.pid }) as Promise<ExitStatus>).catch(() => new Promise<never>(() => undefined))
        : new Promise<never>(() => undefined);
    return { ...launched, exit };
  }

  async expectStop(names: readonly string[], operator = false): Promise<void> {
    await this.request({ op: "expectStop", names, operator });
  }

  async shutdown(): Promise<void> {
    try {
      await this.request({ op: "shutdown" });
    } catch (error) {
      // The socket may close before the answer is read: gone is what was asked for.
      if (stillRuns(checkIdentity({ pid: this.pid, startTime: this.startTime }))) throw error;
    }
    // Done when the process is gone, not when it said so (a foreground supervisor in this very
    // process has ended its supervision when it answered).
    const deadline = Date.now() + 10_000;
    while (this.pid !== process.pid && stillRuns(checkIdentity({ pid: this.pid, startTime: this.startTime }))) {
      if (Date.now() >= deadline) throw new SupervisorError(`the supervisor (PID ${this.pid}) did not end within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.close();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The events of a resume answer; anything else in it (an older supervisor answers nothing) is left out. */
function handoverEvents(result: unknown): HandoverEvent[] {
  const events = (result as { events?: unknown } | null | undefined)?.events;
  if (!Array.isArray(events)) return [];
  return events.filter((event): event is HandoverEvent => {
    if (typeof event !== "object" || event === null || typeof (event as { name?: unknown }).name !== "string") return false;
    const candidate = event as SupervisorEvent;
    if (!isHandoverEvent(candidate)) return false;
    switch (candidate.type) {
      case "restarting": return typeof candidate.attempt === "number";
      case "backoff": return typeof candidate.delayMs === "number" && typeof candidate.nextRestartAt === "string";
      case "failed": return typeof candidate.message === "string";
      case "unhealthy": return typeof candidate.failures === "number";
    }
  });
}
