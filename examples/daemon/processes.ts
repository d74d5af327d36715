// A self-daemonizing process: `process` plus `daemonArgs` gives it both modes, as in the Nix
// process management framework. procman prefers the foreground mode (its PID is then known for
// sure); `daemonOnly` below declares only the daemon mode, so procman runs `webapp-daemon.mjs -D`,
// requires it to exit 0, and waits until its PID file names a live process.
import { createManagedProcess, defineProcesses } from "procman";

export default defineProcesses(({ runtimeDir, modelDir }) => {
  const daemonOnly = createManagedProcess({
    name: "webapp-daemon",
    description: "Web app that daemonizes itself",
    daemon: "node",
    daemonArgs: [`${modelDir}/webapp-daemon.mjs`, "-D"],
    pidFile: `${runtimeDir}/webapp-daemon.pid`,
    environment: { PORT: "5300", PID_FILE: `${runtimeDir}/webapp-daemon.pid` },
  });
  const bothModes = createManagedProcess({
    name: "webapp-both",
    description: "The same program with both modes; procman picks the foreground one",
    process: "node",
    args: [`${modelDir}/webapp-daemon.mjs`],
    daemonArgs: [`${modelDir}/webapp-daemon.mjs`, "-D"],
    pidFile: `${runtimeDir}/webapp-both.pid`,
    environment: { PORT: "5301", PID_FILE: `${runtimeDir}/webapp-both.pid` },
    readiness: { tcp: { port: 5301 } },
  });
  return { daemonOnly, bothModes };
});
