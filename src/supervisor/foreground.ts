// `procman up`: the same supervisor in the CLI's process, after the switch. It does not hold the
// lock (so `procman restart web` from another terminal works, through the same control socket), and
// streams every process's log, each line marked with its name (in colour on a terminal). What the
// processes write goes to their log files as always: this only reads them, so the processes never
// depend on this terminal.
import path from "node:path";
import { rmSync, statSync } from "node:fs";
import type net from "node:net";
import { StateDir } from "../executor/state-dir.js";
import type { ResolvedProcess } from "../model/types.js";
import { SupervisorError } from "./client.js";
import { formatEvent } from "./format-event.js";
import { LogFollower, UnsafeFileError, readTail } from "./log-reader.js";
import { supervisorPaths } from "./paths.js";
import { claimPidFile, releasePidFile } from "./pid-file.js";
import { serve } from "./server.js";
import { Supervisor } from "./supervisor.js";
import { makeDirectories } from "../executor/atomic.js";

export interface ForegroundOptions {
  /** ANSI colours per name (on a terminal). */
  readonly colour?: boolean;
  /** Lines of each log shown when it is first seen (what the switch's starts printed). Default 10. */
  readonly tailLines?: number;
  readonly pollMs?: number;
  /** Paused until the switch that started it resumes it (it spawns the switch's processes). */
  readonly startPaused?: boolean;
}

export interface ForegroundSupervisor {
  readonly pid: number;
  /** Resolves when another procman ended it (`procman stop` from another terminal). */
  readonly ended: Promise<void>;
  /** Ends supervision and the streaming (the caller then stops the processes, dependents first). */
  shutdown(): Promise<void>;
}

const COLOURS = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];
const OWN_NAME = "procman";

export async function runForeground(stateDir: string, onLine: (line: string) => void, options: ForegroundOptions = {}): Promise<ForegroundSupervisor> {
  const paths = supervisorPaths(stateDir);
  // stateDir/lib also holds the services' own stateDirectory (traversable); lib/procman is procman's alone.
  makeDirectories(path.dirname(paths.lib), 0o755);
  makeDirectories(paths.lib, 0o700);
  const claim = claimPidFile(paths.pidFile);
  if (!claim.ok) throw new SupervisorError(`a supervisor already runs for ${stateDir} (PID ${claim.holder.pid})`, "ESUPERVISING");
  rmSync(paths.socket, { force: true });
  const cleanup = () => {
    rmSync(paths.socket, { force: true });
    releasePidFile(paths.pidFile);
  };
  const stream = new LogStream(stateDir, onLine, options);
  let endedBy: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (endedBy = resolve));
  let server: net.Server;
  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor({ stateDir, startPaused: options.startPaused === true, onEvent: (event) => stream.own(formatEvent(event)) });
    server = await serve(supervisor, {
      dir: paths.lib,
      onShutdown: () => {
        stream.stop();
        cleanup();
      },
      afterShutdown: () => endedBy(),
    });
  } catch (error) {
    cleanup();
    throw error;
  }
  stream.start();
  let shut: Promise<void> | undefined;
  return {
    pid: process.pid,
    ended,
    shutdown: () =>
      (shut ??= (async () => {
        await supervisor.shutdown();
        stream.poll();
        stream.stop();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        cleanup();
      })()),
  };
}

/** Follows the log of every process of the current generation (re-read when it changes). */
class LogStream {
  private readonly state: StateDir;
  private readonly followers = new Map<string, { follower: LogFollower; prefix: string; refused: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private stamp = "";
  private width = OWN_NAME.length;
  private colourIndex = 0;

  constructor(stateDir: string, private readonly onLine: (line: string) => void, private readonly options: ForegroundOptions) {
    this.state = new StateDir(stateDir);
  }

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.options.pollMs ?? 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  own(line: string): void {
    this.onLine(`${this.label(OWN_NAME, 90)}${line}`);
  }

  poll(): void {
    this.refreshProcesses();
    for (const [name, entry] of this.followers) {
      if (entry.refused) continue;
      let lines: string[];
      try {
        lines = entry.follower.poll();
      } catch (error) {
        if (!(error instanceof UnsafeFileError)) throw error;
        this.own(`${name}: ${error.message}: not shown`);
        entry.refused = true;
        continue;
      }
      for (const line of lines) this.onLine(`${entry.prefix}${line}`);
    }
  }

  private refreshProcesses(): void {
    let stamp = "";
    try {
      const stat = statSync(`${this.state.lib}/current.json`, { bigint: true });
      stamp = `${stat.ino}:${stat.mtimeNs}`;
    } catch {
      stamp = "-";
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    const current = this.state.readCurrent();
    const processes: readonly ResolvedProcess[] = current?.active === true ? this.state.readGeneration(current.generation).model.processes : [];
    this.width = Math.max(OWN_NAME.length, ...processes.map((spec) => spec.name.length));
    for (const spec of processes) {
      if (this.followers.has(spec.name)) continue;
      const tail = readTail(spec.logFile, this.options.tailLines ?? 10, 1024 * 1024);
      const prefix = this.label(spec.name, COLOURS[this.colourIndex++ % COLOURS.length]!);
      for (const line of tail.lines) this.onLine(`${prefix}${line}`);
      this.followers.set(spec.name, { follower: new LogFollower(spec.logFile, tail.size, tail.ino), prefix, refused: false });
    }
    const names = new Set(processes.map((spec) => spec.name));
    for (const name of this.followers.keys()) if (!names.has(name)) this.followers.delete(name);
  }

  private label(name: string, colour: number): string {
    const text = `${name.padEnd(this.width)} | `;
    return this.options.colour === true ? `\x1b[${colour}m${text}\x1b[0m` : text;
  }
}
