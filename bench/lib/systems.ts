// The systems compared: the C floor, procman (direct), supervisord and PM2. Each writes its own
// configuration for a deployment (untimed), brings it up and tears it down with its own command.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCommand, waitFor, type CommandResult } from "./command.js";
import type { Deployment } from "./deployment.js";
import { isLive } from "./proc.js";

export interface Tools {
  readonly repo: string;
  readonly node: string;
  readonly fixture: string;
  readonly floor: string;
  /** dist/bundle/bin.js (package.json's bin) */
  readonly procman: string;
  /** node_modules/pm2/bin/pm2 */
  readonly pm2: string;
}

export interface StatusOutcome {
  readonly result: CommandResult;
  /** How many processes the tool itself reports as running. */
  readonly running: number;
}

export interface System {
  readonly key: string;
  readonly label: string;
  /** Whether it starts a process only once its dependency is ready. */
  readonly ordersDag: boolean;
  prepare(deployment: Deployment): void;
  up(deployment: Deployment): Promise<CommandResult>;
  down(deployment: Deployment): Promise<CommandResult>;
  status?(deployment: Deployment): Promise<StatusOutcome>;
  /** supervisord only: the teardown by `supervisorctl shutdown` alone. */
  shutdownOnly?(deployment: Deployment): Promise<CommandResult>;
  /** The resident daemon, while the deployment runs (read it before down: daemons remove their PID files). */
  daemonPid?(deployment: Deployment): number | undefined;
}

const log = (deployment: Deployment, what: string) => path.join(deployment.dir, `${what}.log`);

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Untimed, after down: waits for the daemon to exit, SIGKILL after 30 s. */
export async function waitDaemonGone(pid: number | undefined, label: string): Promise<void> {
  if (pid === undefined) return;
  try {
    await waitFor(`${label} daemon (PID ${pid}) exit`, () => (isLive(pid) ? "still running" : undefined), 30_000);
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Commands one after the other, stopping at the first failure; as one result (times added, peak memory the highest). */
async function sequence(steps: readonly (() => Promise<CommandResult>)[]): Promise<CommandResult> {
  let combined: CommandResult | undefined;
  for (const step of steps) {
    const result = await step();
    combined =
      combined === undefined
        ? result
        : {
            argv: [...combined.argv, "&&", ...result.argv],
            code: result.code,
            signal: result.signal,
            exitMs: combined.exitMs + result.exitMs,
            maxRssKB: Math.max(combined.maxRssKB ?? 0, result.maxRssKB ?? 0) || undefined,
            output: `${combined.output}\n${result.output}`,
          };
    if (result.code !== 0) break;
  }
  return combined!;
}

/** The supervisor's PID file holds `{ pid, startTime }` (src/supervisor/pid-file.ts). */
function readSupervisorPid(file: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown }).pid;
    return typeof pid === "number" && Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// ---- the floor ----

/**
 * `logs`: the "floor + logs" variant, whose children write to a log file each that it creates (or
 * appends to) before the fork, as every manager here does: what keeping a log costs at best.
 */
export function floorSystem(tools: Tools, logs = false): System {
  const pidDir = (d: Deployment) => path.join(d.dir, logs ? "floor-logs-pids" : "pids");
  const logDir = (d: Deployment) => path.join(d.dir, "floor-logs");
  return {
    key: logs ? "floor-logs" : "floor",
    label: logs ? "floor + logs (C)" : "floor (C)",
    ordersDag: true,
    prepare(d) {
      mkdirSync(pidDir(d), { recursive: true });
      if (logs) mkdirSync(logDir(d), { recursive: true });
      const lines = d.procs.map((proc) => [proc.dependency ?? -1, proc.readyFile ?? "-", ...proc.argv].join("\t"));
      writeFileSync(path.join(d.dir, "floor.spec"), `${lines.join("\n")}\n`);
    },
    up: (d) =>
      runCommand(
        [tools.floor, "up", pidDir(d), path.join(d.dir, "floor.spec"), String(Math.round((d.interval ?? 0.02) * 1000)), ...(logs ? [logDir(d)] : [])],
        { logFile: log(d, logs ? "floor-logs-up" : "floor-up") },
      ),
    down: (d) => runCommand([tools.floor, "down", pidDir(d)], { logFile: log(d, logs ? "floor-logs-down" : "floor-down") }),
  };
}

// ---- procman (direct) ----

export type DagReadiness = "command" | "logLine";

/** The restart policy of the supervised variant; its delay is part of every crash-to-restart time. */
export const SUPERVISED_RESTART = { policy: "always", delay: 0.1 } as const;

/**
 * procman's direct manager. `supervised`: every process has a restart policy, so `switch` starts
 * (or hands the generation to) the resident supervisor; without, every process says
 * `restart: "no"` (as supervisord's `autorestart=false` and PM2's `autorestart: false` here):
 * nothing to supervise. The model's default is `on-failure`, which would be supervised.
 */
export function procmanSystem(tools: Tools, readiness: DagReadiness = "command", supervised = false, base?: string): System {
  const stateDir = (d: Deployment) => path.join(d.dir, "state");
  const modelFile = (d: Deployment) => path.join(d.dir, "model.json");
  const cli = (...args: string[]) => [tools.node, base ?? tools.procman, ...args];
  return {
    // `base`: another build's bin.js (BENCH_BASE_BIN), to compare two versions in one run.
    key: (base !== undefined ? "procman-base" : "procman") + (supervised ? "-supervised" : readiness === "command" ? "" : "-logline"),
    label: `procman${base !== undefined ? " (base build)" : ""}${supervised ? " (supervised)" : readiness === "command" ? "" : " (logLine)"}`,
    ordersDag: true,
    prepare(d) {
      writeFileSync(modelFile(d), JSON.stringify(procmanModel(d, readiness, supervised), null, 1));
    },
    ...(supervised
      ? { daemonPid: (d: Deployment) => readSupervisorPid(path.join(stateDir(d), "lib", "procman", "supervisor.pid")) }
      : {}),
    up: (d) => runCommand(cli("switch", modelFile(d), "--state-dir", stateDir(d)), { logFile: log(d, "procman-switch") }),
    down: (d) => runCommand(cli("stop", "--state-dir", stateDir(d)), { logFile: log(d, "procman-stop") }),
    async status(d) {
      const logFile = log(d, "procman-status");
      const result = await runCommand(cli("status", "--json", "--state-dir", stateDir(d)), { logFile });
      const status = JSON.parse(readFileSync(logFile, "utf8")) as { processes: { state: string }[] };
      return { result, running: status.processes.filter((process) => process.state === "running").length };
    },
  };
}

/** The processes model procman runs for a deployment (JSON). */
export function procmanModel(d: Deployment, readiness: DagReadiness = "command", supervised = false): Record<string, unknown> {
  const model: Record<string, unknown> = {};
  for (const proc of d.procs) {
    const entry: Record<string, unknown> = { process: proc.argv[0], args: proc.argv.slice(1), restart: supervised ? SUPERVISED_RESTART : "no" };
    if (proc.dependency !== undefined) entry.activatesAfter = [d.procs[proc.dependency]!.name];
    if (proc.readyFile !== undefined) {
      entry.readiness =
        readiness === "command"
          ? { command: `test -e ${proc.readyFile}`, timeout: 30, interval: d.interval ?? 0.02 }
          : { logLine: "^ready$", timeout: 30, interval: d.interval ?? 0.02 };
    }
    model[proc.name] = entry;
  }
  return model;
}

// ---- supervisord ----

export function supervisordSystem(): System {
  const conf = (d: Deployment) => path.join(d.dir, "supervisord.conf");
  return {
    key: "supervisord",
    label: "supervisord",
    ordersDag: false,
    prepare(d) {
      mkdirSync(path.join(d.dir, "log"), { recursive: true });
      const root = process.getuid?.() === 0;
      const sections = [
        `[unix_http_server]\nfile=${d.dir}/supervisor.sock\n`,
        [
          "[supervisord]",
          `logfile=${d.dir}/supervisord.log`,
          `pidfile=${d.dir}/supervisord.pid`,
          `childlogdir=${d.dir}/log`,
          // Each program holds pipes and a log file open.
          `minfds=${Math.max(1024, d.procs.length * 6 + 256)}`,
          "nodaemon=false",
          ...(root ? ["user=root"] : []),
          "",
        ].join("\n"),
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        `[supervisorctl]\nserverurl=unix://${d.dir}/supervisor.sock\n`,
        // Plain supervisord: it has no readiness and no dependencies; priority (by layer) is all it can say about order.
        ...d.procs.map((proc) =>
          [
            `[program:${proc.name}]`,
            `command=${proc.argv.join(" ")}`,
            `priority=${100 + proc.layer}`,
            "autostart=true",
            "autorestart=false",
            "startsecs=0",
            "redirect_stderr=true",
            `stdout_logfile=${d.dir}/log/${proc.name}.log`,
            "",
          ].join("\n"),
        ),
      ];
      writeFileSync(conf(d), sections.join("\n"));
    },
    up: (d) => runCommand(["supervisord", "-c", conf(d)], { logFile: log(d, "supervisord") }),
    // `shutdown` alone stops one program (each is its own group) per turn of supervisord's main loop,
    // and a turn often waits out the 1 s poll timeout: about N seconds for N programs (see README).
    // `stop all` signals every program at once; the `shutdown` after it has nothing left to stop.
    down: (d) =>
      sequence([
        () => runCommand(["supervisorctl", "-c", conf(d), "stop", "all"], { logFile: log(d, "supervisorctl-stop-all") }),
        () => runCommand(["supervisorctl", "-c", conf(d), "shutdown"], { logFile: log(d, "supervisorctl-shutdown") }),
      ]),
    shutdownOnly: (d) => runCommand(["supervisorctl", "-c", conf(d), "shutdown"], { logFile: log(d, "supervisorctl-shutdown") }),
    async status(d) {
      const logFile = log(d, "supervisorctl-status");
      const result = await runCommand(["supervisorctl", "-c", conf(d), "status"], { logFile });
      const running = readFileSync(logFile, "utf8").split("\n").filter((line) => /\sRUNNING\s/.test(line)).length;
      return { result, running };
    },
    daemonPid: (d) => readPid(path.join(d.dir, "supervisord.pid")),
  };
}

// ---- PM2 ----

export function pm2System(tools: Tools): System {
  const home = (d: Deployment) => path.join(d.dir, "pm2");
  // A PM2_HOME of its own; no version check over the network (the "touch" file marks PM2_HOME as
  // already greeted, and the daemon's worker honours PM2_DISABLE_VERSION_CHECK).
  const env = (d: Deployment): NodeJS.ProcessEnv => ({ ...process.env, PM2_HOME: home(d), PM2_DISABLE_VERSION_CHECK: "true" });
  const cli = (...args: string[]) => [tools.node, tools.pm2, ...args];
  return {
    key: "pm2",
    label: "PM2",
    ordersDag: false,
    prepare(d) {
      mkdirSync(home(d), { recursive: true });
      writeFileSync(path.join(home(d), "touch"), `${Date.now()}`);
      const apps = d.procs.map((proc) => ({
        name: proc.name,
        script: proc.argv[0],
        args: proc.argv.slice(1),
        interpreter: "none",
        exec_mode: "fork",
        autorestart: false,
      }));
      writeFileSync(path.join(d.dir, "ecosystem.json"), JSON.stringify({ apps }, null, 1));
    },
    up: (d) => runCommand(cli("start", path.join(d.dir, "ecosystem.json")), { logFile: log(d, "pm2-start"), env: env(d) }),
    down: (d) => runCommand(cli("kill"), { logFile: log(d, "pm2-kill"), env: env(d) }),
    async status(d) {
      const logFile = log(d, "pm2-jlist");
      const result = await runCommand(cli("jlist"), { logFile, env: env(d) });
      const text = readFileSync(logFile, "utf8");
      const list = JSON.parse(text.slice(text.indexOf("["))) as { pm2_env?: { status?: string } }[];
      return { result, running: list.filter((app) => app.pm2_env?.status === "online").length };
    },
    daemonPid: (d) => readPid(path.join(home(d), "pm2.pid")),
  };
}
