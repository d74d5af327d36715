// sysvinit: the LSB scripts under the state dir (or --install-dir), run in dependency order
// (reversed for stopping). Each script's start waits for readiness itself.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ProcessContext } from "../../model/types.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool } from "./tool.js";
import { readEnvironmentVariable } from "../proc.js";
import { readPidLine } from "../safe-file.js";
import { TAG_VARIABLE, tagFor } from "../tag-sweep.js";

/** The PID in the PID file an installed script names (`PIDFILE='…'`, as shQuote wrote it), if tagged `tag`. */
function taggedPid(scriptFile: string, tag: string): number | undefined {
  try {
    const quoted = /^PIDFILE=((?:'[^']*'|\\')+)$/m.exec(readFileSync(scriptFile, "utf8"))?.[1];
    if (quoted === undefined) return undefined;
    const pidFile = quoted.replace(/'([^']*)'|\\'/g, (_whole, inner: string | undefined) => inner ?? "'");
    const text = readPidLine(pidFile);
    const pid = text !== undefined && /^[1-9]\d{0,9}$/.test(text) ? Number(text) : undefined;
    return pid !== undefined && readEnvironmentVariable(pid, TAG_VARIABLE) === tag ? pid : undefined;
  } catch {
    return undefined; // no script, no PID file, or not one procman reads
  }
}

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
    // The script's status decides; its PID file names the PID only when /proc shows that process
    // carrying this program's tag (the file may be the daemon's own, i.e. the service's word).
    runningPid: async (processName) => {
      if ((await runTool(script(processName), ["status"])).exitCode !== 0) return { running: false };
      const pid = taggedPid(script(processName), tagFor(processName, "sysvinit", context.stateDir));
      return { running: true, ...(pid !== undefined ? { pid } : {}) };
    },
  };
}
