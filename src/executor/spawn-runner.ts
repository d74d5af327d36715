// Starting many processes without forking procman for each. libuv forks the whole procman process
// for every spawn: its page tables are copied, then every page procman writes faults back in; on
// these machines that is 3–9 ms per spawn, all of it on procman's one thread, and it grows with
// procman's memory. One small runner per command forks instead: a fork of it costs what the C
// floor's does, it runs beside procman (the other core), and procman only writes a line per start.
// The runner is Perl where it is installed (perl-runner.ts: one exec per child, and it reads the
// start time and writes the PID file too), else /bin/sh, described here.
//
// The child is what spawn({ detached: true }) makes: its own session (util-linux setsid: a
// background job of a shell without job control is no group leader, so setsid does not fork and
// the PID stays the one sh reports), exactly the given environment with every signal back to its
// default (GNU env -i --default-signal: sh ignores SIGINT and SIGQUIT in what it runs in the
// background), stdin /dev/null, stdout and stderr on the log procman opened (sh opens the same file
// again through /proc/PID/fd: a descriptor, never a path a service could have replaced), the
// process's umask and directory.
//
// sh keeps each child's exit status until asked (`wait PID`). procman asks only once /proc shows
// the child dead, so the shell never blocks on a live one; a zombie's status is read from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isExecutableFile } from "./executable.js";
import type { ExitStatus } from "./launch.js";
import { PERL, perlCheckLine, perlRunnerArgs, perlSpawnLine, perlWaitLine, removePerlTemp } from "./perl-runner.js";
import { readProcStat } from "./proc.js";

const SETSID = "/usr/bin/setsid";
/** How often the runner's state is looked at (one read of /proc/PID/stat). */
const STOPPED_CHECK_MS = 1000;
const ENV = "/usr/bin/env";

export interface RunnerRequest {
  /** argv[0] is run by env(1) with the PATH of `environment` (as spawn does). */
  readonly argv: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly directory: string;
  readonly umask: string | undefined;
  /** procman's descriptor of the log: the child's stdout and stderr. */
  readonly logFd: number;
  /** Only where `writesPidFiles`: the PID file the runner writes (atomically) once forked, before the child can be reaped. */
  readonly pidFile?: string;
}

export interface Spawned {
  readonly pid: number;
  /** Its start time, read by the runner before the child can be reaped (undefined: read it yourself). */
  readonly startTime?: string;
  /** The runner found it dead already (a zombie) when it read the start time. */
  readonly dead?: boolean;
  /** The PID file asked for could not be written: the errno's name (EACCES, ENOSPC, …). */
  readonly pidFileError?: string;
  /**
   * The PID file, when the runner writes it after the forks of a batch (not in reap mode): resolves
   * once written, with undefined or why not (an errno's name).
   */
  readonly pidFileWritten?: Promise<string | undefined>;
}

/** Which program forks: Perl where it is installed (one exec per child), else /bin/sh. */
export type RunnerKind = "perl" | "sh";

/** The shell is missing a tool (no util-linux setsid, no GNU env): nothing was started, spawn directly. */
export class RunnerUnavailableError extends Error {}

interface Pending {
  readonly resolve: (value: string) => void;
  readonly reject: (error: Error) => void;
  /** A "C" line before the answer: the PID of a check under way. */
  readonly onPid?: (pid: number) => void;
}

export class SpawnRunner {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private buffer = "";
  private state: "starting" | "ready" | "unavailable" | "gone" = "starting";
  /** Lines asked for in this turn of the event loop, written together at its end (flush). */
  private outgoing: string[] = [];
  private readonly found = new Map<string, boolean>();
  /** Directories made or checked during this command (mkdir -p once per directory, not per process). */
  readonly directories = new Set<string>();

  readonly kind: RunnerKind;
  /** The runner writes the PID files of its starts (RunnerRequest.pidFile) and reads their start times. */
  readonly writesPidFiles: boolean;

  /** reap: exits reported as they happen (`D pid status`), by PID; an early one waits for its exitOf. */
  private readonly reaped = new Map<number, ExitStatus>();
  private readonly exitWaiters = new Map<number, (status: ExitStatus) => void>();
  private readonly reap: boolean;
  /** Perl: PID files written after the forks of a batch (`F id errno`), by request. */
  private readonly pidFileWaiters = new Map<number, { readonly file: string; readonly written: (error: string | undefined) => void }>();
  private readonly onGone: (() => void) | undefined;
  /** Looks at the runner's state in /proc while it is up: a stopped one is ended (see stoppedRunner). */
  private readonly watch: NodeJS.Timeout;
  private stopped = false;

  /**
   * `reap` (Perl only): the runner reaps its children and reports each exit as it happens, for a
   * parent that lives on (the supervisor); `onGone` is told if the runner itself goes away (its
   * children's exits are unknown from then on: look at /proc).
   */
  constructor(options: { readonly kind?: RunnerKind; readonly reap?: boolean; readonly onGone?: () => void } = {}) {
    this.kind = options.kind ?? (isExecutableFile(PERL) ? "perl" : "sh");
    this.writesPidFiles = this.kind === "perl";
    this.reap = options.reap === true;
    this.onGone = options.onGone;
    if (this.reap && this.kind !== "perl") throw new Error("only the Perl runner reaps");
    // Its own process group: a Ctrl-C at procman's terminal is procman's to handle (it undoes the
    // command), not the runner's to die of with starts half made. An empty environment: nothing
    // (PERL5OPT, ENV) reaches the runner's own start.
    this.child =
      this.kind === "perl"
        ? spawn(PERL, perlRunnerArgs(process.pid, this.reap), { stdio: ["pipe", "pipe", "ignore"], env: {}, cwd: "/", detached: true })
        : spawn("/bin/sh", ["-s"], { stdio: ["pipe", "pipe", "ignore"], env: {}, cwd: "/", detached: true });
    this.child.unref();
    this.child.on("error", () => this.gone(new RunnerUnavailableError("cannot run /bin/sh")));
    // "close", not "exit": every line it wrote (its OK or NO first) is read before it counts as
    // gone. Gone before its OK, it started nothing: spawn directly instead.
    this.child.once("close", () =>
      this.state === "starting"
        ? this.gone(new RunnerUnavailableError("the spawning shell ended before it was ready"), "unavailable")
        : this.gone(new Error(this.stopped ? "the spawning runner was stopped (SIGSTOP) and is ended" : "the spawning shell exited")),
    );
    this.child.stdin!.on("error", () => undefined); // EPIPE once it exited: reported through "exit"
    this.watch = setInterval(() => this.stoppedRunner(), STOPPED_CHECK_MS);
    this.watch.unref();
    const out = this.child.stdout!;
    out.setEncoding("latin1");
    out.on("data", (chunk: string) => this.received(chunk));
    this.unref();
    // The tools, checked by the shell itself before anything else it reads (no extra fork here).
    // Perl says OK once its script compiled.
    if (this.kind === "sh") {
      this.child.stdin!.write(
        `if [ -x ${SETSID} ] && ${ENV} --default-signal -i /bin/true 2>/dev/null; then echo OK; else echo NO; exit 0; fi\n`,
      );
    }
  }

  /** Starts one process; resolves once the runner forked it. */
  async spawn(request: RunnerRequest): Promise<Spawned> {
    if (this.state === "unavailable") throw new RunnerUnavailableError("no setsid or GNU env");
    if (request.pidFile !== undefined && !this.writesPidFiles) throw new Error("this runner writes no PID files");
    if (this.kind === "perl") {
      let requestId: number | undefined;
      const asked = this.ask((id) => {
        requestId = id;
        return perlSpawnLine(id, request);
      });
      // Registered now: its `F` may be read in the same chunk as the `P`, before this resumes.
      const later =
        request.pidFile !== undefined && requestId !== undefined
          ? new Promise<string | undefined>((resolve) => this.pidFileWaiters.set(requestId!, { file: request.pidFile!, written: resolve }))
          : undefined;
      const answer = await asked;
      if (answer === "") throw new Error("the spawning runner could not open the log descriptor");
      const [pid, startTime, state, written] = answer.split(" ");
      const error = written === undefined || written === "-" || written === "0" || written === "later" ? undefined : errnoName(Number(written));
      return {
        pid: Number(pid),
        ...(startTime !== undefined && startTime !== "-" ? { startTime } : {}),
        ...(state === "Z" || state === "X" ? { dead: true } : {}),
        ...(error !== undefined ? { pidFileError: error } : {}),
        ...(written === "later" && later !== undefined ? { pidFileWritten: later } : {}),
      };
    }
    const command = `${childOf(request)} </dev/null >&9 2>&9 9>&- &`;
    const answer = await this.ask((id) => `{ ${command} echo "P ${id} $!"; } 9>>/proc/${process.pid}/fd/${request.logFd} || echo "E ${id}"`);
    if (answer === "") throw new Error("the spawning shell could not open the log descriptor");
    return { pid: Number(answer) };
  }

  /**
   * Runs a readiness command to its end as runShellAs does (its own session, killed as a group on
   * timeout, output nowhere), forked by the shell: a poll costs procman a line, not a fork. A
   * subshell of the runner waits for it, so the runner itself never does.
   */
  async check(request: Omit<RunnerRequest, "logFd">, timeoutMs: number): Promise<{ ok: true } | { ok: false; why: string }> {
    if (this.state === "unavailable") throw new RunnerUnavailableError("no setsid or GNU env");
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    /** The check as forked (it leads its own session): what to end if the runner goes first. */
    let forked: { readonly pid: number; readonly startTime: string } | undefined;
    let answer: string;
    try {
      answer = await this.ask(
        (id) =>
          this.kind === "perl"
            ? perlCheckLine(id, request)
            : `(${childOf(request)} </dev/null >/dev/null 2>&1 & p=$!; echo "C ${id} $p"; wait $p; echo "X ${id} $?") &`,
        (pid) => {
          const startTime = readProcStat(pid)?.startTime;
          if (startTime !== undefined) forked = { pid, startTime };
          timer = setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-pid, "SIGKILL");
            } catch {
              // already gone
            }
          }, timeoutMs);
        },
      );
    } catch (error) {
      // The Perl runner went away with the check under way: nobody will report its end, and its
      // timeout is given up below. A hung check would stay forever: its group ends now, if the
      // PID is still the check (its start time): the group it leads, or itself if it did not get
      // to its setsid. (sh's check is waited for by a subshell that outlives the shell: its
      // answer still comes.)
      const stat = forked === undefined ? undefined : readProcStat(forked.pid);
      if (forked !== undefined && stat?.startTime === forked.startTime) {
        try {
          process.kill(stat.session === forked.pid ? -forked.pid : forked.pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      throw error;
    } finally {
      // Also when the shell went away: no kill later of a group whose check is over.
      clearTimeout(timer);
    }
    const status = this.statusOf(answer);
    if (status.code === 0) return { ok: true };
    if (timedOut) return { ok: false, why: `it did not finish within ${timeoutMs / 1000} s` };
    return { ok: false, why: status.signal !== null ? `it was killed by ${status.signal}` : `it exited with code ${status.code}` };
  }

  /**
   * Whether the runner can run argv[0] as spawn would find it; otherwise spawn directly, which
   * names the problem (ENOENT, EACCES) as procman always did. An executable with "=" in its name
   * would be taken by env(1) for an assignment.
   */
  canRun(argv0: string, environment: Readonly<Record<string, string>>, argv: readonly string[] = []): boolean {
    if (this.state === "unavailable" || this.state === "gone" || argv0.includes("=") || argv0 === "") return false;
    // Relative to what? env(1) resolves it in the process's directory, this check could not: spawn
    // directly, which resolves and names the problem as it always did.
    if (argv0.includes("/") && !argv0.startsWith("/")) return false;
    if (!argv0.includes("/") && (environment.PATH ?? "/bin:/usr/bin").split(":").some((dir) => !dir.startsWith("/"))) return false;
    // A NUL cannot be in an argument or the environment: spawn says so, a shell's input would break.
    if (argv.some((arg) => arg.includes("\0")) || Object.entries(environment).some(([key, value]) => key.includes("\0") || value.includes("\0"))) return false;
    const search = argv0.includes("/") ? [argv0] : (environment.PATH ?? "/bin:/usr/bin").split(":").map((dir) => path.join(dir || ".", argv0));
    const key = `${environment.PATH ?? ""}\0${argv0}`;
    let ok = this.found.get(key);
    if (ok === undefined) {
      ok = search.some(isExecutableFile);
      this.found.set(key, ok);
    }
    return ok;
  }

  /**
   * How a child of the shell ended, looked up on first use (only a failure message needs it): a
   * zombie's status from /proc, else the status the shell kept. Pending while it runs.
   */
  exitOf(pid: number, startTime: string): PromiseLike<ExitStatus> {
    if (this.reap) {
      const known = this.reaped.get(pid);
      this.reaped.delete(pid);
      // Never resolves if the runner goes first (onGone): /proc tells of the death then.
      if (known !== undefined) return Promise.resolve(known);
      // A child's exit awaited keeps the event loop alive, as a child of procman's own would.
      this.ref();
      return new Promise((resolve) => this.exitWaiters.set(pid, resolve));
    }
    let promise: Promise<ExitStatus> | undefined;
    const start = async (): Promise<ExitStatus> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const stat = zombieOrLive(pid, startTime);
        if (stat === "live") {
          if (Date.now() > deadline) return new Promise<never>(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        if (stat !== "gone") return stat;
        const answer = await this.ask((id) => (this.kind === "perl" ? perlWaitLine(id, pid) : `wait ${pid}; echo "X ${id} $?"`));
        return this.statusOf(answer);
      }
    };
    return {
      then: (onFulfilled, onRejected) => (promise ??= start()).then(onFulfilled, onRejected),
    };
  }

  close(): void {
    this.flush();
    this.child.stdin!.end();
  }

  private ask(line: (id: number) => string, onPid?: (pid: number) => void): Promise<string> {
    if (this.state === "gone") return Promise.reject(new Error("the spawning shell exited"));
    const id = this.next++;
    const answer = new Promise<string>((resolve, reject) => this.pending.set(id, { resolve, reject, ...(onPid !== undefined ? { onPid } : {}) }));
    this.ref();
    // One write per turn of the event loop, not one per start: the starts of a batch are asked for
    // as their logs open, each in its own callback, and each write cost procman's thread (and with
    // it the runner's core) a write(2) and a stream request.
    if (this.outgoing.length === 0) setImmediate(() => this.flush());
    // A procman that died must not have processes started after it: the next command's recovery
    // may already have looked. (The Perl runner looks before each line itself.)
    // sh: procman must still be its parent (field 4 of its own stat; its comm is "sh", no space):
    // a dead procman not yet reaped is a zombie, which `kill -0` would still find.
    this.outgoing.push(this.kind === "perl" ? `${line(id)}\n` : `read -r _ _ _ p _ </proc/$$/stat; [ "$p" = ${process.pid} ] || exit 0; ${line(id)}\n`);
    return answer;
  }

  private flush(): void {
    if (this.outgoing.length === 0) return;
    const text = this.outgoing.join("");
    this.outgoing = [];
    this.child.stdin!.write(text);
  }

  private received(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      if (line === "OK") this.state = "ready";
      else if (line === "NO") this.gone(new RunnerUnavailableError("no setsid or GNU env"), "unavailable");
      else {
        // KIND ID VALUE…
        const afterKind = line.indexOf(" ");
        const afterId = line.indexOf(" ", afterKind + 1);
        const kind = line.slice(0, afterKind);
        const id = Number(afterId < 0 ? line.slice(afterKind + 1) : line.slice(afterKind + 1, afterId));
        const value = afterId < 0 ? "" : line.slice(afterId + 1);
        if (kind === "D") {
          this.exited(id, Number(value));
          continue;
        }
        if (kind === "F") {
          const waiting = this.pidFileWaiters.get(id);
          this.pidFileWaiters.delete(id);
          waiting?.written(value === "0" ? undefined : errnoName(Number(value)));
          continue;
        }
        const waiter = this.pending.get(id);
        if (waiter === undefined) continue;
        if (kind === "C") {
          waiter.onPid?.(Number(value));
          continue;
        }
        this.pending.delete(id);
        // No `F` follows unless the `P` said "later".
        if (kind !== "P" || !value.endsWith(" later")) this.pidFileWaiters.delete(id);
        waiter.resolve(kind === "E" ? "" : value);
      }
    }
    if (this.pending.size === 0 && this.exitWaiters.size === 0 && this.pidFileWaiters.size === 0) this.unref();
  }

  /**
   * An `X` answer: Perl gives the wait status itself; sh only $?, where 128 + N may be a death by
   * signal N or an exit with that code (read as the signal, as shells do).
   */
  private statusOf(answer: string): ExitStatus {
    const value = Number(answer);
    if (this.kind === "perl") return waitStatus(value);
    const signal = value > 128 ? signalName(value - 128) : undefined;
    return signal !== undefined ? { code: null, signal } : { code: value, signal: null };
  }

  /** reap: a child's wait status (as waitpid gives it), reported as it exited. */
  private exited(pid: number, raw: number): void {
    const status = waitStatus(raw);
    const waiter = this.exitWaiters.get(pid);
    this.exitWaiters.delete(pid);
    if (waiter !== undefined) waiter(status);
    else this.reaped.set(pid, status);
  }

  /**
   * Stopped (SIGSTOP, by someone who may signal it: its user, root), the runner answers nothing and
   * reaps nothing: every start would wait forever, and the supervisor, which learns of its
   * children's deaths from the runner only, would never see one. Ended, it counts as gone: what
   * waits is rejected, its children's deaths are looked for in /proc (onGone), and the next start
   * gets a new runner. It is procman's own child: the only process this signals.
   */
  private stoppedRunner(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.stopped) return;
    let state: string | undefined;
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "latin1");
      state = text.slice(text.lastIndexOf(")") + 2).split(" ")[0];
    } catch {
      return; // gone: "close" tells
    }
    // Only "T": a traced runner ("t") is in trace stops briefly at every system call under strace.
    if (state !== "T") return;
    this.stopped = true;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }

  private gone(error: Error, state: "unavailable" | "gone" = "gone"): void {
    clearInterval(this.watch);
    const wasUp = this.state === "ready" || this.state === "starting";
    if (this.state !== "unavailable") this.state = state;
    if (wasUp && this.reap) {
      this.exitWaiters.clear();
      this.onGone?.();
    }
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    for (const { file, written } of this.pidFileWaiters.values()) {
      // Killed between creating its temp file and the rename, it left the temp file behind.
      removePerlTemp(file, process.pid);
      written("the spawning runner ended before writing it");
    }
    this.pidFileWaiters.clear();
    this.unref();
  }

  // Only a pending answer keeps procman's event loop alive: an idle shell never does. The child's
  // own handle too: a runner ended with answers pending (stopped, then killed) closes its stdout
  // before its exit is reaped, and with nothing else alive procman would end there, its starts
  // neither done nor failed ("close" needs the exit).
  private ref(): void {
    (this.child.stdout as unknown as { ref?: () => void }).ref?.();
    this.child.ref();
  }
  private unref(): void {
    (this.child.stdout as unknown as { unref?: () => void }).unref?.();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child.unref();
  }
}

/** The child as a subshell: umask, directory, then setsid and env -i exec it (the PID stays the subshell's). */
function childOf(request: Omit<RunnerRequest, "logFd">): string {
  const umask = request.umask === undefined ? "" : `umask ${Number.parseInt(request.umask, 8).toString(8).padStart(4, "0")} && `;
  const assignments = Object.entries(request.environment).map(([key, value]) => quote(`${key}=${value}`));
  return `(${umask}cd -P -- ${quote(request.directory)} && exec ${SETSID} ${ENV} --default-signal -i -- ${assignments.join(" ")} ${request.argv.map(quote).join(" ")})`;
}

/** sh single quotes: everything literal, a quote as '\''. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** "live", "gone" (or another process under the PID now), or the exit status a zombie holds. */
function zombieOrLive(pid: number, startTime: string): "live" | "gone" | ExitStatus {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return "gone";
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (fields[19] !== startTime) return "gone";
  if (fields[0] !== "Z") return "live";
  // Field 52: the wait status (Linux ≥ 3.5), exactly as waitpid would return it.
  const raw = Number(fields[52 - 3]);
  return Number.isInteger(raw) ? waitStatus(raw) : "gone";
}

/** A wait status as waitpid(2) gives it. */
function waitStatus(raw: number): ExitStatus {
  const signal = raw & 0x7f;
  const name = signal === 0 ? undefined : signalName(signal);
  return name !== undefined ? { code: null, signal: name } : { code: (raw >> 8) & 0xff, signal: null };
}

function errnoName(number: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === number) return name;
  return `errno ${number}`;
}

function signalName(number: number): NodeJS.Signals | undefined {
  for (const [name, value] of Object.entries(os.constants.signals)) if (value === number) return name as NodeJS.Signals;
  return undefined;
}
