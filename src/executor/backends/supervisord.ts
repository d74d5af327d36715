// supervisord: one supervisord for the state dir (started if none runs), driven by supervisorctl;
// the programs are in group P, so their names are `P:name`. supervisord starts programs without
// waiting for readiness, so procman waits for RUNNING and then for the process's own check.
import path from "node:path";
import type { ProcessContext, ResolvedProcess } from "../../model/types.js";
import { checkIdentity, identityOf } from "../proc.js";
import { probeReadiness, sleep } from "../readiness.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool, ToolError } from "./tool.js";

export function supervisordAdapter(context: ProcessContext, dir: string | undefined, prefix: string): ManagerAdapter {
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "supervisord");
  const conf = path.join(root, "supervisord.conf");
  const ctl = (...args: string[]) => runTool("supervisorctl", ["-c", conf, ...args]);
  const program = (name: string) => `${prefix}:${name}`;

  const statusOf = async (name: string): Promise<{ state: string; pid?: number }> => {
    const result = await ctl("status", program(name));
    const line = /^\S+\s+([A-Z]+)(.*)$/m.exec(result.output);
    // "procman:web   RUNNING   pid 8703, uptime 0:01:02"
    const pid = /\bpid (\d+),/.exec(line?.[2] ?? "")?.[1];
    return { state: line?.[1] ?? "UNKNOWN", ...(pid !== undefined ? { pid: Number(pid) } : {}) };
  };
  const stateOf = async (name: string): Promise<string> => (await statusOf(name)).state;
  const daemonRuns = async () => (await ctl("pid")).exitCode === 0;

  const ensureDaemon = async (): Promise<void> => {
    if (await daemonRuns()) return;
    await mustRun("supervisord", ["-c", conf]);
    const deadline = Date.now() + 15_000;
    while (!(await daemonRuns())) {
      if (Date.now() > deadline) throw new Error(`supervisord did not answer on its socket in ${root}`);
      await sleep(100);
    }
  };

  const waitReady = async (spec: ResolvedProcess): Promise<void> => {
    const deadline = Date.now() + (spec.readiness.timeout + 5) * 1000;
    for (;;) {
      const state = await stateOf(spec.name);
      if (state === "FATAL" || state === "EXITED" || state === "STOPPED" || state === "BACKOFF") {
        throw new Error(`${program(spec.name)} is ${state} under supervisord`);
      }
      if (state === "RUNNING" && (await probeReadiness(spec))) return;
      if (Date.now() > deadline) throw new Error(`${spec.name} not ready after ${spec.readiness.timeout} s (supervisord says ${state})`);
      await sleep(Math.min(200, spec.readiness.interval * 1000));
    }
  };

  return {
    manager: "supervisord",
    dir: root,
    generatorOptions: { prefix, autostart: false, stableSections: true },
    tagsProcesses: true,
    links: () => [],
    namesakes: () => [],
    // A changed program section (or member list) makes supervisord's update replace the whole group:
    // every program restarts then, in order. What a process runs lives in its own .run script.
    restartsAll: (files) => files.filter((file) => file.path.startsWith("conf.d/")).map((file) => file.path),
    reload: async (_removed, empty) => {
      if (empty) return; // everything is uninstalled, supervisord was shut down before
      // supervisord refuses to start (or to read a program) while a log directory is missing.
      await mustRun("/bin/sh", [path.join(root, `${prefix}-setup.sh`)]);
      await ensureDaemon();
      // reread + update: removed programs go, changed ones are replaced (stopped if they ran: the
      // transaction stopped those already), new ones are added without autostart.
      await mustRun("supervisorctl", ["-c", conf, "reread"]);
      await mustRun("supervisorctl", ["-c", conf, "update"]);
    },
    start: async (requests) => {
      for (const { spec, restartInPlace } of requests) {
        const verb = restartInPlace ? "restart" : "start";
        const result = await ctl(verb, program(spec.name));
        if (result.exitCode !== 0 && !/already started/.test(result.output)) throw new ToolError("supervisorctl", [verb, program(spec.name)], result);
      }
      for (const { spec } of requests) await waitReady(spec);
    },
    stop: async (name) => {
      if (await daemonRuns()) await ctl("stop", program(name));
    },
    signal: async (name, signal) => {
      await mustRun("supervisorctl", ["-c", conf, "signal", signal.replace(/^SIG/, ""), program(name)]);
    },
    running: async (name) => (await daemonRuns()) && (await stateOf(name)) === "RUNNING",
    runningPid: async (name) => {
      if (!(await daemonRuns())) return { running: false };
      const { state, pid } = await statusOf(name);
      return state === "RUNNING" ? { running: true, ...(pid !== undefined ? { pid } : {}) } : { running: false };
    },
    shutdown: async () => {
      const answer = await ctl("pid");
      // Its socket goes quiet before the process exits: stopping is done when the process is gone.
      const daemon = answer.exitCode === 0 && /^\d+$/.test(answer.output) ? identityOf(Number(answer.output)) : undefined;
      if (answer.exitCode === 0) await ctl("shutdown");
      const deadline = Date.now() + 15_000;
      while ((await daemonRuns()) || (daemon !== undefined && checkIdentity(daemon) === "running")) {
        if (Date.now() > deadline) throw new Error(`supervisord in ${root} did not shut down`);
        await sleep(100);
      }
    },
  };
}
