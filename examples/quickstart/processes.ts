// Quick start: the webapp of examples/webapp behind a small Node proxy instead of nginx, so it
// runs on any machine with Node. The proxy is activated only once the web app accepts connections.
//
//   npx procman switch examples/quickstart/processes.ts --state-dir /tmp/procman-demo
//   curl http://127.0.0.1:5101/        # through the proxy
//   npx procman status --state-dir /tmp/procman-demo
//   npx procman stop --state-dir /tmp/procman-demo
import { createManagedProcess, defineProcesses } from "procman";

export default defineProcesses(({ modelDir }) => {
  const webapp = createManagedProcess({
    name: "webapp",
    description: "Simple web application",
    foregroundProcess: "node",
    args: [`${modelDir}/../webapp/webapp.mjs`],
    environment: { PORT: "5100" },
    readiness: { http: { url: "http://127.0.0.1:5100/" }, timeout: 20 },
  });

  const proxy = createManagedProcess({
    name: "proxy",
    description: "Reverse proxy for webapp",
    foregroundProcess: "node",
    args: [`${modelDir}/proxy.mjs`],
    environment: { PORT: "5101", UPSTREAM: "127.0.0.1:5100" },
    activatesAfter: [webapp],
    readiness: { tcp: { port: 5101 }, timeout: 20 },
  });

  return { webapp, proxy };
});
