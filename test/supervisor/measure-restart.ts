// Not a test (no .test.ts): how long the built supervisor takes from a crash to the new process's
// first instruction, with restart delay 0 (the new process stamps its start; node's own start-up,
// ~40 ms here, is included).   npx tsc -p tsconfig.json && node --import tsx test/supervisor/measure-restart.ts
import path from "node:path";
import { makeTempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/processes.js";
import { deploy, eventsFile, flakyEvents, processSpec, teardown } from "./helpers.js";

const dir = makeTempDir("procman-latency-");
const built = path.resolve(import.meta.dirname, "../../dist/src/supervisor/client.js");
const { startSupervisor } = (await import(built)) as typeof import("../../src/supervisor/client.js");
const client = await startSupervisor(dir);
const events = eventsFile(dir);
const rounds = 10;
// A shell, not node: its start-up (~1 ms) does not hide the supervisor's part.
const base = processSpec(dir, "crash", {}, { restart: { policy: "on-failure", delay: 0, maxDelay: 0, limit: { burst: 1000, interval: 60 } } });
const script = `echo "{\\"event\\":\\"start\\",\\"t\\":$(($(date +%s%N)/1000000))}" >> ${events}; sleep 0.3; echo "{\\"event\\":\\"exit\\",\\"t\\":$(($(date +%s%N)/1000000))}" >> ${events}; exit 1`;
await deploy(dir, [{ ...base, foreground: { executable: "/bin/sh", args: ["-c", script] } }], client);
await waitFor(() => flakyEvents(events).filter((e) => e.event === "start").length > rounds, 60_000, "restarts");
const list = flakyEvents(events);
const gaps: number[] = [];
for (const [i, event] of list.entries()) {
  if (event.event !== "exit") continue;
  const next = list.slice(i + 1).find((e) => e.event === "start");
  if (next !== undefined) gaps.push(next.t - event.t);
}
gaps.sort((a, b) => a - b);
console.log(`crash -> new process running: median ${gaps[Math.floor(gaps.length / 2)]} ms, max ${gaps.at(-1)} ms over ${gaps.length} crashes`);
await teardown(dir, client);
