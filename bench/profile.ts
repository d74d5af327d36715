// Profiles procman's commands as the bench runs them (N fixture processes, JSON model), each under
// `node --cpu-prof`, and prints where the time goes. Not part of `npm run bench`:
//
//   npm run build && node --import tsx bench/profile.ts
//   BENCH_PROFILE_N=500 BENCH_PROFILE_OUT=/tmp/profiles node --import tsx bench/profile.ts   (keeps the .cpuprofile files)
//
// Steps: switch (bring-up), no-op switch, one-change switch, status, stop; then the DAG (command
// readiness) switch and stop. Every outcome is verified from /proc, as in the bench.
import { cpSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BenchError, measure, runCommand } from "./lib/command.js";
import { summarizeProfile } from "./lib/cpuprofile.js";
import { dagProcs, expectedArgv, independentProcs, missingReadyFiles, type Deployment, type ProcSpec } from "./lib/deployment.js";
import { harness, sweep } from "./lib/harness.js";
import { verifyGone, verifyRunning } from "./lib/proc.js";
import { procmanModel } from "./lib/systems.js";
import { envInt, formatMs } from "./lib/util.js";

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

async function profile(root: string): Promise<void> {
  const n = envInt("BENCH_PROFILE_N", 500);
  const top = envInt("BENCH_PROFILE_TOP", 12);
  // V8 samples every 1000 µs by default: too coarse for a command of 100 ms.
  const interval = envInt("BENCH_PROFILE_INTERVAL", 100);
  const fixture = path.join(root, "bin", "fixture");
  // package.json's bin (the bundle), as users and the bench run it; the same environment as the bench.
  const bin = path.join(repo, "dist", "bundle", "bin.js");
  delete process.env.NODE_EXTRA_CA_CERTS;
  const profiles = path.join(root, "profiles");
  process.on("SIGINT", () => {
    sweep(root);
    process.exit(130);
  });

  const step = async (d: Deployment, label: string, args: string[], verify: () => string | undefined) => {
    const dir = path.join(profiles, label);
    mkdirSync(dir, { recursive: true });
    const measured = await measure(
      label,
      () => runCommand([process.execPath, "--cpu-prof", `--cpu-prof-interval=${interval}`, `--cpu-prof-dir=${dir}`, bin, ...args], { logFile: path.join(d.dir, `${label}.log`) }),
      verify,
    );
    const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
    process.stdout.write(`\n### ${label}: ${formatMs(measured.ms)} (profiled, so slower than in the bench)\n\n`);
    if (file !== undefined) process.stdout.write(`${summarizeProfile(path.join(dir, file), { top, callers: 3 })}\n`);
  };
  const running = (procs: readonly ProcSpec[]) => () => {
    const verified = verifyRunning(fixture, expectedArgv(procs));
    if (!verified.ok) return verified.reason;
    const missing = missingReadyFiles(procs);
    return missing === 0 ? undefined : `${missing} not ready`;
  };
  const gone = () => verifyGone(fixture);

  // Independent processes.
  {
    const dir = path.join(root, "runs", "independent");
    mkdirSync(dir, { recursive: true });
    const procs = independentProcs(fixture, `profile.${n}`, n);
    const d: Deployment = { id: "independent", dir, procs };
    const model = path.join(dir, "model.json");
    const state = ["--state-dir", path.join(dir, "state")];
    writeFileSync(model, JSON.stringify(procmanModel(d)));
    await step(d, "switch", ["switch", model, ...state], running(procs));
    await step(d, "no-op switch", ["switch", model, ...state], running(procs));
    procs[7] = { ...procs[7]!, argv: [fixture, `profile.${n}.7.changed`] };
    writeFileSync(model, JSON.stringify(procmanModel(d)));
    await step(d, "one-change switch", ["switch", model, ...state], running(procs));
    await step(d, "status", ["status", "--json", ...state], running(procs));
    await step(d, "stop", ["stop", ...state], gone);
  }
  // The DAG, readiness by command.
  {
    const dir = path.join(root, "runs", "dag");
    for (const sub of ["ready", "record"]) mkdirSync(path.join(dir, sub), { recursive: true });
    const procs = dagProcs(fixture, `profile.dag.${n}`, dir, n, 10, 100);
    const d: Deployment = { id: "dag", dir, procs, interval: 0.02 };
    const model = path.join(dir, "model.json");
    const state = ["--state-dir", path.join(dir, "state")];
    writeFileSync(model, JSON.stringify(procmanModel(d, "command")));
    await step(d, "DAG switch", ["switch", model, ...state], running(procs));
    await step(d, "DAG stop", ["stop", ...state], gone);
  }
  const out = process.env.BENCH_PROFILE_OUT;
  if (out !== undefined) {
    cpSync(profiles, out, { recursive: true });
    process.stdout.write(`\nprofiles kept in ${out}\n`);
  }
  if (verifyGone(fixture) !== undefined) throw new BenchError("fixture processes left behind");
}

const root = await harness(import.meta.url);
if (root !== undefined) await profile(root);
