// sysvinit: the LSB scripts under the state dir (or --install-dir), run in dependency order
// (reversed for stopping). Each script's start waits for readiness itself.
import path from "node:path";
import type { ProcessContext } from "../../model/types.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool } from "./tool.js";

export function sysvinitAdapter(context: ProcessContext, dir: string | undefined, prefix: string): ManagerAdapter {
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "sysvinit");
  const name = (processName: string) => `${prefix}-${processName}`;
  const script = (processName: string) => path.join(root, "init.d", name(processName));
  return {
    manager: "sysvinit",
    dir: root,
    generatorOptions: { prefix },
    tagsProcesses: true,
    links: () => [],
    // Installed straight into /etc/init.d, a script must not replace the distribution's.
    namesakes: (files) => (root === "/etc" ? [] : files.filter((file) => file.path.startsWith("init.d/")).map((file) => path.join("/etc", file.path))),
    reload: async () => undefined,
    start: async (requests) => {
      for (const { spec, restartInPlace } of requests) {
        await mustRun(script(spec.name), [restartInPlace ? "restart" : "start"], spec.readiness.timeout + spec.stop.timeout + 30);
      }
    },
    stop: async (processName) => {
      await mustRun(script(processName), ["stop"]);
    },
    running: async (processName) => (await runTool(script(processName), ["status"])).exitCode === 0,
  };
}
