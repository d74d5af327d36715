// Liveness: is a ready process still working? Each kind answers one check with true (healthy) or
// false; the supervisor counts consecutive failures. A port that accepts is not proof of life: the
// kernel completes the handshake of a frozen process into its accept queue, so the tcp check also
// watches that queue (rx_queue of the LISTEN socket in /proc/net/tcp{,6}) drain.
import { spawn } from "node:child_process";
import { closeSync, readFileSync } from "node:fs";
import type http from "node:http";
import net from "node:net";
import { wrapCommand } from "../executor/launch.js";
import { openServiceFile } from "../executor/safe-file.js";
import type { Liveness, ResolvedProcess } from "../model/types.js";

export type Check = () => Promise<boolean>;

/** A check for the process's liveness settings; `readyAt` (ms) starts the logWithin clock. */
export function livenessCheck(spec: ResolvedProcess, liveness: Liveness, readyAt: number): Check {
  const timeoutMs = liveness.timeout * 1000;
  switch (liveness.kind) {
    case "tcp":
      return () => tcpAlive(liveness.host, liveness.port, timeoutMs);
    case "http":
      return () => httpAlive(liveness.url, liveness.status, timeoutMs);
    case "command":
      return () => commandAlive(spec, liveness.command, timeoutMs);
    case "logWithin": {
      const watch = new LogGrowth(spec.logFile, readyAt);
      return () => Promise.resolve(watch.grewWithin(liveness.seconds * 1000, Date.now()));
    }
  }
}

export function describeLiveness(liveness: Liveness): string {
  switch (liveness.kind) {
    case "tcp": return `TCP ${liveness.host}:${liveness.port} accepts and its accept queue drains within ${liveness.timeout} s`;
    case "http": return `GET ${liveness.url} answers ${liveness.status} within ${liveness.timeout} s`;
    case "command": return `command ${JSON.stringify(liveness.command)} exits 0 within ${liveness.timeout} s`;
    case "logWithin": return `its log grew within the last ${liveness.seconds} s`;
  }
}

/** Connects, then waits for the listener to take the connection off its accept queue. */
export async function tcpAlive(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const connected = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("connect", () => {
      // A FIN, not a reset: a healthy service should not log an error for every check.
      socket.setTimeout(0);
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
      resolve(true);
    });
  });
  if (!connected) return false;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    const queued = acceptQueue(port);
    // Not visible here (another network namespace): the connect is all there is to go on.
    if (queued === undefined || queued === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(1, deadline - Date.now()))));
  }
}

/** Connections completed but not accepted on the LISTEN sockets of `port` (undefined: none seen). */
export function acceptQueue(port: number): number | undefined {
  let found: number | undefined;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 5 || fields[3] !== "0A") continue; // 0A: LISTEN
      const local = fields[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) !== port) continue;
      const rx = Number.parseInt(fields[4]!.split(":")[1] ?? "", 16);
      if (Number.isFinite(rx)) found = Math.max(found ?? 0, rx);
    }
  }
  return found;
}

export async function httpAlive(url: string, status: number, timeoutMs: number): Promise<boolean> {
  // Loaded on the first http check only: TLS alone costs the supervisor megabytes of memory.
  const client = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(ok);
    };
    let request: http.ClientRequest;
    try {
      request = client.get(url, { agent: false }, (response) => {
        response.resume();
        finish(response.statusCode === status);
      });
    } catch {
      resolve(false);
      return;
    }
    // The whole exchange must end within the timeout, not merely each idle gap.
    const timer = setTimeout(() => finish(false), timeoutMs);
    request.once("error", () => finish(false));
  });
}

/** Runs the command as the process runs (its user, environment and directory); its group is killed at the timeout. */
export function commandAlive(spec: ResolvedProcess, command: string, timeoutMs: number): Promise<boolean> {
  const [executable, ...args] = wrapCommand(spec, { executable: "/bin/sh", args: ["-c", command] });
  return new Promise((resolve) => {
    const child = spawn(executable!, args, { env: spec.environment, cwd: spec.directory ?? "/", stdio: "ignore", detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** Remembers when the log last changed size (rotation counts: it happens because the log grew). */
export class LogGrowth {
  private size: number | undefined;
  private changedAt: number;
  constructor(private readonly file: string, since: number) {
    this.changedAt = since;
    this.size = logSize(file);
  }

  grewWithin(ms: number, now: number): boolean {
    const size = logSize(this.file);
    if (size !== this.size) {
      this.size = size;
      this.changedAt = now;
    }
    return now - this.changedAt <= ms;
  }
}

function logSize(file: string): number | undefined {
  try {
    const opened = openServiceFile(file);
    if (opened === undefined) return undefined;
    closeSync(opened.fd);
    return opened.stat.size;
  } catch {
    return undefined; // a symlink or not a regular file: no growth procman can trust
  }
}
