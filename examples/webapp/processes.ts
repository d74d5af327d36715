// The webapp example from the Disnix post: a web application and an nginx reverse proxy that is
// activated after it. `procman switch examples/webapp/processes.ts`, then
// `curl http://127.0.0.1:8080/`. The same model is written as YAML in processes.yaml.
import { createManagedProcess, defineProcesses } from "procman";

export default defineProcesses(({ stateDir, runtimeDir, modelDir }) => {
  const webapp = createManagedProcess({
    name: "webapp",
    description: "Simple web application",
    foregroundProcess: "node",
    args: [`${modelDir}/webapp.mjs`],
    environment: { PORT: "5000" },
    readiness: { tcp: { port: 5000 }, timeout: 20 },
  });

  const nginx = createManagedProcess({
    name: "nginx",
    description: "Reverse proxy for webapp",
    daemon: "/usr/sbin/nginx", // daemonizes itself and writes its own PID file
    daemonArgs: [
      "-p", `${stateDir}/nginx/`,
      "-c", `${modelDir}/nginx.conf`,
      "-e", `${stateDir}/nginx/logs/error.log`,
      "-g", `pid ${runtimeDir}/nginx.pid;`,
    ],
    pidFile: `${runtimeDir}/nginx.pid`,
    initialize: `mkdir -p '${stateDir}/nginx/logs' '${stateDir}/nginx/tmp'`,
    activatesAfter: [webapp],
    readiness: { tcp: { port: 8080 } },
  });

  return { webapp, nginx };
});
