// systemd: units installed under the state dir and linked into systemd's search path (or written
// straight into --install-dir), then daemon-reload; one layer starts in one `systemctl start`. A
// unit's start returns once its ExecStartPost= readiness check passed, so layers gate dependents.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import type { ProcessContext } from "../../model/types.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool } from "./tool.js";

/** Where systemd looks for units (systemd.unit(5), "Unit File Load Path"). */
function searchPath(user: boolean): string[] {
  if (!user) return ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];
  const config = process.env.XDG_CONFIG_HOME ?? path.join(homedir(), ".config");
  return [path.join(config, "systemd", "user"), "/etc/systemd/user", "/run/systemd/user", "/usr/local/lib/systemd/user", "/usr/lib/systemd/user"];
}

/** The ActiveStates `systemctl is-active` answers 0 for. */
const ACTIVE_STATES = new Set(["active", "reloading", "refreshing"]);

export function systemdAdapter(context: ProcessContext, dir: string | undefined, prefix: string): ManagerAdapter {
  const user = process.getuid?.() !== 0;
  const underStateDir = path.join(context.stateDir, "lib", "procman", "systemd");
  const root = dir ?? underStateDir;
  // Units under the state dir are outside systemd's search path: they are linked into it.
  const linked = root === underStateDir;
  const scope = user ? ["--user"] : [];
  const systemctl = (...args: string[]) => mustRun("systemctl", [...scope, ...args]);
  const unit = (name: string) => `${prefix}-${name}.service`;
  const units = (files: readonly { path: string }[]) => files.filter((file) => !file.path.includes("/") && /\.(service|target)$/.test(file.path));
  return {
    manager: "systemd",
    dir: root,
    generatorOptions: { userUnits: user, prefix },
    // sd_booted(3): without this directory no systemd runs here, and links into its search path
    // would only litter /etc.
    unavailable: () => {
      const runtime = user ? path.join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.()}`, "systemd") : "/run/systemd/system";
      return existsSync(runtime) ? undefined : `systemd is not running here (${runtime} does not exist)`;
    },
    links: (files) =>
      linked
        ? units(files).map((file) => ({ path: path.join(searchPath(user)[0]!, file.path), target: path.join(root, file.path) }))
        : [],
    namesakes: (files) => units(files).flatMap((file) => searchPath(user).map((dir) => path.join(dir, file.path))),
    reload: async () => {
      await systemctl("daemon-reload");
    },
    start: async (requests) => {
      const restart = requests.filter((request) => request.restartInPlace).map((request) => unit(request.spec.name));
      const start = requests.filter((request) => !request.restartInPlace).map((request) => unit(request.spec.name));
      if (start.length > 0) await systemctl("start", ...start);
      if (restart.length > 0) await systemctl("restart", ...restart);
    },
    stop: async (name) => {
      await systemctl("stop", unit(name));
    },
    signal: async (name, signal) => {
      await systemctl("kill", "--kill-whom=main", `--signal=${signal}`, unit(name));
    },
    running: async (name) => (await runTool("systemctl", [...scope, "is-active", "--quiet", unit(name)])).exitCode === 0,
    // One question for both: the states is-active counts as active, and the main PID systemd
    // tracks (0 when it has none). PID 1's word, in the namespace procman runs in.
    runningPid: async (name) => {
      const answer = await runTool("systemctl", [...scope, "show", "--property=ActiveState,MainPID", unit(name)]);
      if (answer.exitCode !== 0) return { running: false };
      const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(answer.output)?.[1];
      if (!ACTIVE_STATES.has(value("ActiveState") ?? "")) return { running: false };
      const pid = Number(value("MainPID"));
      return { running: true, ...(Number.isSafeInteger(pid) && pid > 0 ? { pid } : {}) };
    },
  };
}
