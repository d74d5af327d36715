// launchd: bootstrap/bootout through launchctl, with the race from the seed handled. bootout
// returns while the job still drains, and a bootstrap of a label that lingers fails with
// "5: Input/output error": so after bootout procman waits until `launchctl print` no longer finds
// the label (bounded), and retries a bootstrap that fails with error 5. An unchanged plist is
// restarted with `kickstart -k` instead.
import path from "node:path";
import type { ProcessContext, ResolvedProcess } from "../../model/types.js";
import { probeReadiness, sleep } from "../readiness.js";
import type { ManagerAdapter } from "./adapter.js";
import { mustRun, runTool, ToolError } from "./tool.js";

const GONE_BOUND_MS = 30_000;

export function launchdAdapter(context: ProcessContext, dir: string | undefined, prefix: string): ManagerAdapter {
  const launchdLabel = (name: string) => `org.${prefix}.${name}`;
  const uid = process.getuid?.() ?? 0;
  const domain = uid === 0 ? "system" : `gui/${uid}`;
  const root = dir ?? path.join(context.stateDir, "lib", "procman", "launchd");
  const target = (name: string) => `${domain}/${launchdLabel(name)}`;
  const plist = (name: string) => path.join(root, `${launchdLabel(name)}.plist`);
  const loaded = async (name: string) => (await runTool("launchctl", ["print", target(name)])).exitCode === 0;

  const bootoutAndWait = async (name: string, boundMs = GONE_BOUND_MS): Promise<void> => {
    await runTool("launchctl", ["bootout", target(name)]);
    const deadline = Date.now() + boundMs;
    while (await loaded(name)) {
      if (Date.now() > deadline) throw new Error(`launchd still has ${launchdLabel(name)} ${boundMs / 1000} s after bootout`);
      await sleep(100);
    }
  };

  const bootstrap = async (spec: ResolvedProcess): Promise<void> => {
    const deadline = Date.now() + (spec.stop.timeout + 10) * 1000;
    for (;;) {
      const args = ["bootstrap", domain, plist(spec.name)];
      const result = await runTool("launchctl", args);
      if (result.exitCode === 0) return;
      // Error 5: the previous instance is still draining; it goes away, so try again.
      if (!/\b5: Input\/output error/.test(result.output) || Date.now() > deadline) throw new ToolError("launchctl", args, result);
      await sleep(200);
    }
  };

  const waitReady = async (spec: ResolvedProcess): Promise<void> => {
    const deadline = Date.now() + spec.readiness.timeout * 1000;
    while (!(await probeReadiness(spec))) {
      if (Date.now() > deadline) throw new Error(`${spec.name} not ready after ${spec.readiness.timeout} s under launchd`);
      await sleep(spec.readiness.interval * 1000);
    }
  };

  return {
    manager: "launchd",
    dir: root,
    generatorOptions: { prefix },
    links: () => [],
    // Installed straight into a LaunchDaemons folder, a plist must not replace another's.
    namesakes: () => [],
    // launchd creates no log or state directory: the generated setup script does.
    reload: async (_removed, empty) => {
      if (empty) return;
      await mustRun("/bin/sh", [path.join(root, `${prefix}-setup.sh`)]);
    },
    start: async (requests) => {
      for (const { spec, restartInPlace } of requests) {
        if (restartInPlace) {
          await mustRun("launchctl", ["kickstart", "-k", target(spec.name)]);
        } else {
          if (await loaded(spec.name)) await bootoutAndWait(spec.name, (spec.stop.timeout + 10) * 1000);
          await bootstrap(spec);
        }
      }
      for (const { spec } of requests) await waitReady(spec);
    },
    stop: async (name) => {
      if (await loaded(name)) await bootoutAndWait(name);
    },
    signal: async (name, signal) => {
      await mustRun("launchctl", ["kill", signal, target(name)]);
    },
    running: loaded,
    // Loaded is not running: `print` says the job's state and, while it runs, its pid (top-level
    // keys, one tab in). Output that says neither (not a stable API) counts as loaded = running.
    runningPid: async (name) => {
      const answer = await runTool("launchctl", ["print", target(name)]);
      if (answer.exitCode !== 0) return { running: false };
      const state = /^\tstate = (.+)$/m.exec(answer.output)?.[1];
      if (state !== undefined && state !== "running") return { running: false };
      const pid = Number(/^\tpid = (\d{1,10})$/m.exec(answer.output)?.[1]);
      return { running: true, ...(Number.isSafeInteger(pid) && pid > 0 ? { pid } : {}) };
    },
  };
}
