// Two instances of one web app on distinct ports behind one proxy, built with a constructor
// function — the way the Nix process management framework writes reusable process definitions.
// Needs only Node: the proxy is examples/quickstart/proxy.mjs, taking the instances in turn.
import { createManagedProcess, defineProcesses, type ManagedProcessInput } from "procman";

/** A constructor: one web app instance, parameterized by its name and port. */
function webappInstance(modelDir: string, instance: { name: string; port: number }): ManagedProcessInput {
  return createManagedProcess({
    name: instance.name,
    description: `webapp instance on port ${instance.port}`,
    foregroundProcess: "node",
    args: [`${modelDir}/../webapp/webapp.mjs`],
    environment: { PORT: String(instance.port) },
    readiness: { http: { url: `http://127.0.0.1:${instance.port}/` }, timeout: 20 },
  });
}

export default defineProcesses(({ modelDir }) => {
  const instances = [
    webappInstance(modelDir, { name: "webapp1", port: 5201 }),
    webappInstance(modelDir, { name: "webapp2", port: 5202 }),
  ];
  const proxy = createManagedProcess({
    name: "proxy",
    description: "Round-robin proxy in front of both instances",
    foregroundProcess: "node",
    args: [`${modelDir}/../quickstart/proxy.mjs`],
    environment: { PORT: "5200", UPSTREAM: "127.0.0.1:5201,127.0.0.1:5202" },
    activatesAfter: instances,
    readiness: { tcp: { port: 5200 } },
  });
  return [...instances, proxy];
});
