// Scenario 4, in a process of its own (run by bench/run.ts once per repetition, so each
// repetition starts as cold as `procman generate` does): resolve a model of N processes once, then
// time each generator in-process, in the order given. Prints one JSON line.
//
//   node --import tsx bench/generate-worker.ts N systemd,launchd,supervisord,sysvinit
import os from "node:os";
import { performance } from "node:perf_hooks";
import { GENERATORS, type GeneratorName } from "../generators/index.js";
import { createContext } from "../src/model/context.js";
import { resolveModel } from "../src/resolve-model.js";

const n = Number(process.argv[2] ?? "10000");
const order = (process.argv[3] ?? "systemd,launchd,supervisord,sysvinit").split(",") as GeneratorName[];

/** A DAG of n processes in 10 layers, with the fields a real model uses. */
function buildModel(count: number): Record<string, unknown> {
  const layers = 10;
  const model: Record<string, unknown> = {};
  const layerOf = (i: number) => Math.floor((i * layers) / count);
  const firstOf: number[] = [];
  for (let i = 0; i < count; i++) if (firstOf[layerOf(i)] === undefined) firstOf[layerOf(i)] = i;
  for (let i = 0; i < count; i++) {
    const layer = layerOf(i);
    const port = 20000 + i;
    const entry: Record<string, unknown> = {
      description: `benchmark service ${i} (layer ${layer})`,
      process: "/opt/bench/bin/server",
      args: ["--port", String(port), "--name", `p${i}`, "--config", "/etc/bench/it's here.conf"],
      environment: { PORT: String(port), NODE_ENV: "production", GREETING: "hello $USER; 100%" },
      directory: "/srv/bench",
      readiness: i % 2 === 0 ? { tcp: { port }, timeout: 30 } : { command: `test -e /run/bench/p${i}.ready`, interval: 0.05 },
      stop: { signal: "SIGINT", timeout: 5 },
      restart: { policy: "on-failure", delay: 2 },
    };
    if (layer > 0) {
      const previousSize = firstOf[layer]! - firstOf[layer - 1]!;
      entry.activatesAfter = [`p${firstOf[layer - 1]! + ((i - firstOf[layer]!) % previousSize)}`];
    }
    model[`p${i}`] = entry;
  }
  return model;
}

const exported = buildModel(n);
const context = createContext({ stateDir: os.tmpdir(), modelDir: os.tmpdir() });
let began = performance.now();
const model = resolveModel(exported, context, { nameMustMatchKey: true });
const resolveMs = performance.now() - began;

const times: Record<string, number> = {};
const files: Record<string, number> = {};
const bytes: Record<string, number> = {};
for (const name of order) {
  began = performance.now();
  const output = GENERATORS[name](model);
  times[name] = performance.now() - began;
  files[name] = output.files.length;
  bytes[name] = output.files.reduce((sum, file) => sum + file.contents.length, 0);
}
process.stdout.write(`${JSON.stringify({ n, resolveMs, times, files, bytes, maxRssKB: process.resourceUsage().maxRSS })}\n`);
