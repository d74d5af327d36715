// supervisord: one supervisord for the state dir (started if none runs), driven by supervisorctl.
// supervisord starts programs without waiting for readiness, so procman waits for RUNNING and then
// for the process's own readiness check before it goes on to the next one.
import path from "node:path";
import { DEFAULT_PREFIX, supervisordGroupName } from "../../../generators/naming.js";
import type { ProcessContext, ResolvedProcess } from "../../model/types.js";
import { probeReadiness, sleep } from "../readiness.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool, ToolError } from "./run-tool.js";

export function supervisordAdapter(context: ProcessContext, dir: string | undefined): ManagerAdapter & { shutdown(): Promise<void> } {
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "supervisord");
  const conf = path.join(root, "supervisord.conf");
  const ctl = (...args: string[]) => runTool("supervisorctl", ["-c", conf, ...args]);
  // Programs are in the group P: supervisorctl calls them P:name and updates whole groups.
  const group = supervisordGroupName(DEFAULT_PREFIX);
  const program = (name: string) => `${group}:${name}`;

  const stateOf = async (name: string): Promise<string> => {
    const result = await ctl("status", program(name));
    return /^\S+\s+([A-Z]+)/m.exec(result.output)?.[1] ?? "UNKNOWN";
  };

  const ensureDaemon = async (): Promise<void> => {
    // supervisord refuses to start while a log directory is missing: the generated setup script first.
    await mustRun("/bin/sh", [path.join(root, `${DEFAULT_PREFIX}-setup.sh`)]);
    if ((await ctl("pid")).exitCode === 0) return;
    await mustRun("supervisord", ["-c", conf]);
    const deadline = Date.now() + 15_000;
    while ((await ctl("pid")).exitCode !== 0) {
      if (Date.now() > deadline) throw new Error(`supervisord did not answer on its socket in ${root}`);
      await sleep(100);
    }
  };

  const waitReady = async (spec: ResolvedProcess): Promise<void> => {
    const deadline = Date.now() + (spec.readiness.timeout + 5) * 1000;
    for (;;) {
      const state = await stateOf(spec.name);
      if (state === "FATAL" || state === "EXITED" || state === "STOPPED") {
        throw new Error(`${spec.name} is ${state} under supervisord`);
      }
      if (state === "RUNNING" && (await probeReadiness(spec))) return;
      if (Date.now() > deadline) throw new Error(`${spec.name} not ready after ${spec.readiness.timeout} s (supervisord says ${state})`);
      await sleep(Math.min(200, spec.readiness.interval * 1000));
    }
  };

  return {
    manager: "supervisord",
    dir: root,
    generatorOptions: {},
    filesOf: (files, name) => files.filter((file) => file.path === `conf.d/${DEFAULT_PREFIX}-${name}.conf`),
    afterInstall: async (_names, removed) => {
      await ensureDaemon();
      await mustRun("supervisorctl", ["-c", conf, "reread"]);
      // A removed program changed the group: update reloads it (and restarts the group).
      if (removed.length > 0) await ctl("update", group);
    },
    start: async ({ process: spec, filesChanged, running }) => {
      const verb = filesChanged ? "update" : running ? "restart" : "start";
      const result = await ctl(verb, verb === "update" ? group : program(spec.name));
      if (result.exitCode !== 0 && !/already started/.test(result.output)) throw new ToolError("supervisorctl", [verb, spec.name], result);
      await waitReady(spec);
    },
    stop: async (name) => {
      await ctl("stop", program(name));
    },
    running: async (name) => (await stateOf(name)) === "RUNNING",
    shutdown: async () => {
      if ((await ctl("pid")).exitCode === 0) await ctl("shutdown");
    },
  };
}
