// systemd: units installed under the state dir (linked into systemd's search path) or straight into
// a unit directory, then daemon-reload, then start/stop through systemctl. A unit's start returns
// once its ExecStartPost= readiness check passed, so starting in order gates dependents.
import path from "node:path";
import { DEFAULT_PREFIX, systemdDirsUnitName, systemdUnitName } from "../../../generators/naming.js";
import type { ProcessContext } from "../../model/types.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool } from "./run-tool.js";

export function systemdAdapter(context: ProcessContext, dir: string | undefined): ManagerAdapter {
  const user = process.getuid?.() !== 0;
  const underStateDir = path.join(context.stateDir, "lib", "procman", "systemd");
  const root = dir ?? underStateDir;
  // Units under the state dir are outside systemd's search path: they are linked into it.
  const linked = root === underStateDir;
  const scope = user ? ["--user"] : [];
  const systemctl = (...args: string[]) => mustRun("systemctl", [...scope, ...args]);
  const unit = (name: string) => systemdUnitName(DEFAULT_PREFIX, name);
  return {
    manager: "systemd",
    dir: root,
    // The units name their environment files and tmpfiles snippet by path in the install dir.
    generatorOptions: { userUnits: user, installDir: root },
    // The unit and its environment file (the generator names them so).
    filesOf: (files, name) => files.filter((file) => file.path === unit(name) || file.path === `${DEFAULT_PREFIX}-${name}.env`),
    afterInstall: async (names, removed) => {
      for (const name of removed) {
        if (linked) await runTool("systemctl", [...scope, "disable", unit(name)]);
      }
      // Every unit Requires= the directories unit: it is linked with them.
      const units = names.length > 0 ? [systemdDirsUnitName(DEFAULT_PREFIX), ...names.map(unit)] : [];
      if (linked && units.length > 0) await systemctl("link", ...units.map((name) => path.join(root, name)));
      await systemctl("daemon-reload");
    },
    start: async ({ process: managed, running }) => {
      await systemctl(running ? "restart" : "start", unit(managed.name));
    },
    stop: async (name) => {
      await systemctl("stop", unit(name));
    },
    running: async (name) => (await runTool("systemctl", [...scope, "is-active", "--quiet", unit(name)])).exitCode === 0,
  };
}
