// supervisord: one supervisord for the state dir (started if none runs), driven by supervisorctl.
// supervisord starts programs without waiting for readiness, so procman waits for RUNNING and then
// for the process's own readiness check before it goes on to the next one.
import path from "node:path";
import type { ProcessContext, ResolvedProcess } from "../../model/types.js";
import { checkIdentity, identityOf } from "../proc.js";
import { probeReadiness, sleep } from "../readiness.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool, ToolError } from "./run-tool.js";

export function supervisordAdapter(context: ProcessContext, dir: string | undefined): ManagerAdapter & { shutdown(): Promise<void> } {
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "supervisord");
  const conf = path.join(root, "supervisord.conf");
  const ctl = (...args: string[]) => runTool("supervisorctl", ["-c", conf, ...args]);

  const stateOf = async (name: string): Promise<string> => {
    const result = await ctl("status", name);
    return /^\S+\s+([A-Z]+)/m.exec(result.output)?.[1] ?? "UNKNOWN";
  };

  const ensureDaemon = async (): Promise<void> => {
    if ((await ctl("pid")).exitCode === 0) return;
    await mustRun("supervisord", ["-c", conf]);
    const deadline = Date.now() + 15_000;
    while ((await ctl("pid")).exitCode !== 0) {
      if (Date.now() > deadline) throw new Error(`supervisord did not answer on its socket in ${root}`);
      await sleep(100);
    }
  };

  const waitReady = async (process: ResolvedProcess): Promise<void> => {
    const deadline = Date.now() + (process.readiness.timeout + 5) * 1000;
    for (;;) {
      const state = await stateOf(process.name);
      if (state === "FATAL" || state === "EXITED" || state === "STOPPED") {
        throw new Error(`${process.name} is ${state} under supervisord`);
      }
      if (state === "RUNNING" && (await probeReadiness(process))) return;
      if (Date.now() > deadline) throw new Error(`${process.name} not ready after ${process.readiness.timeout} s (supervisord says ${state})`);
      await sleep(Math.min(200, process.readiness.interval * 1000));
    }
  };

  return {
    manager: "supervisord",
    dir: root,
    generatorOptions: {},
    filesOf: (files, name) => files.filter((file) => file.path === `conf.d/${name}.conf`),
    afterInstall: async (_names, removed) => {
      await ensureDaemon();
      await mustRun("supervisorctl", ["-c", conf, "reread"]);
      for (const name of removed) await ctl("remove", name);
    },
    start: async ({ process, filesChanged, running }) => {
      const verb = filesChanged ? "update" : running ? "restart" : "start";
      const result = await ctl(verb, process.name);
      if (result.exitCode !== 0 && !/already started/.test(result.output)) throw new ToolError("supervisorctl", [verb, process.name], result);
      await waitReady(process);
    },
    stop: async (name) => {
      await ctl("stop", name);
    },
    running: async (name) => (await stateOf(name)) === "RUNNING",
    shutdown: async () => {
      const answer = await ctl("pid");
      if (answer.exitCode !== 0) return;
      const daemon = /^\d+$/.test(answer.output) ? identityOf(Number(answer.output)) : undefined;
      await ctl("shutdown");
      // supervisorctl returns once supervisord took the request; stopping is done when it is gone.
      const deadline = Date.now() + 30_000;
      while (daemon !== undefined && checkIdentity(daemon) === "running") {
        if (Date.now() > deadline) throw new Error(`supervisord (PID ${daemon.pid}) still runs 30 s after its shutdown`);
        await sleep(50);
      }
    },
  };
}
