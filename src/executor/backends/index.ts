// The backend for a process manager name. The other managers' modules (execa, the generators)
// load only when a deployment uses one: they cost every other command start-up time.
import type { ProcessContext, ProcessManagerName } from "../../model/types.js";
import type { Backend } from "../backend.js";
import type { StateDir } from "../state-dir.js";
import { directBackend } from "./direct.js";

export interface BackendOptions {
  /** Other managers: install the generated files here instead of under the state dir. */
  readonly installDir?: string | undefined;
  readonly onWarning: (message: string) => void;
  /** procman up: starts its in-process supervisor (the direct backend spawns through it). */
  readonly startForeground?: (() => Promise<void>) | undefined;
}

export async function createBackend(
  manager: ProcessManagerName,
  context: ProcessContext,
  prefix: string,
  state: StateDir,
  options: BackendOptions,
): Promise<Backend> {
  if (manager === "direct") return directBackend(state, options.startForeground);
  const { managedBackend } = await import("./managed.js");
  const dir = options.installDir;
  const adapter = await (async () => {
    switch (manager) {
      case "systemd": return (await import("./systemd.js")).systemdAdapter(context, dir, prefix);
      case "launchd": return (await import("./launchd.js")).launchdAdapter(context, dir, prefix);
      case "supervisord": return (await import("./supervisord.js")).supervisordAdapter(context, dir, prefix);
      case "sysvinit": return (await import("./sysvinit.js")).sysvinitAdapter(context, dir, prefix);
    }
  })();
  return managedBackend(state, adapter, prefix, options.onWarning);
}
