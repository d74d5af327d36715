// Not a test (no .test.ts): measures the built supervisor's resident memory with N sleeping children.
//   npx tsc -p tsconfig.json && node --import tsx test/supervisor/measure-rss.ts [N]
import { readFileSync } from "node:fs";
import path from "node:path";
import { createContext } from "../../src/model/context.js";
import { resolveModel } from "../../src/resolve-model.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { specHash } from "../../src/plan/spec-hash.js";
import { makeTempDir } from "../helpers/tmp.js";
import { teardown } from "./helpers.js";

const count = Number(process.argv[2] ?? 500);
const dir = makeTempDir("procman-rss-");
const context = createContext({ stateDir: dir, modelDir: dir });
const model = resolveModel(
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, { foregroundProcess: "/bin/sleep", args: ["100000"] }])),
  context,
  { nameMustMatchKey: false },
);
// The built entry point (dist), as `procman switch` starts it: not through tsx.
const built = path.resolve(import.meta.dirname, "../../dist/src/supervisor/client.js");
const { startSupervisor } = (await import(built)) as typeof import("../../src/supervisor/client.js");
const client = await startSupervisor(dir);
const rss = () => Number(/VmRSS:\s+([0-9]+)/.exec(readFileSync(`/proc/${client.pid}/status`, "utf8"))?.[1]) / 1024;
const idle = rss();
const state = new StateDir(dir);
state.ensure();
for (const spec of model.processes) {
  const hash = specHash(spec);
  const launched = await client.spawn(spec, hash);
  state.writeRecord({
    name: spec.name, pid: launched.pid, startTime: launched.startTime, mode: spec.mode, specHash: hash, pidFile: spec.pidFile,
    stopSignal: spec.stop.signal, stopTimeout: spec.stop.timeout, startedAt: new Date().toISOString(),
  });
}
state.setCurrent({ generation: state.writeGeneration(model, "direct", undefined), active: true });
await client.resume();
await new Promise((resolve) => setTimeout(resolve, 3000));
console.log(`supervisor RSS: ${idle.toFixed(1)} MiB idle, ${rss().toFixed(1)} MiB with ${count} children`);
await teardown(dir, client);
