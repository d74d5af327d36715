// sysvinit: the scripts under the state dir, run in dependency order (reversed for stopping).
import path from "node:path";
import { DEFAULT_PREFIX, sysvinitScriptName } from "../../../generators/naming.js";
import type { ProcessContext } from "../../model/types.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool } from "./run-tool.js";

export function sysvinitAdapter(context: ProcessContext, dir: string | undefined): ManagerAdapter {
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "sysvinit");
  const script = (name: string) => path.join(root, "init.d", sysvinitScriptName(DEFAULT_PREFIX, name));
  return {
    manager: "sysvinit",
    dir: root,
    generatorOptions: {},
    filesOf: (files, name) => files.filter((file) => file.path === `init.d/${sysvinitScriptName(DEFAULT_PREFIX, name)}`),
    afterInstall: async () => undefined,
    // The script's start waits for readiness itself.
    start: async ({ process: spec, running }) => {
      await mustRun(script(spec.name), [running ? "restart" : "start"], spec.readiness.timeout + spec.stop.timeout + 30);
    },
    stop: async (name) => {
      await mustRun(script(name), ["stop"]);
    },
    running: async (name) => (await runTool(script(name), ["status"])).exitCode === 0,
  };
}
