// procman's benchmark suite: `npm run bench` (see bench/README.md).
//
// One invocation runs every system it compares, interleaved (the order rotates from one repetition
// to the next), several times, verifies every "all running" and "all stopped" from /proc, and
// prints Markdown tables of medians (min–max) with ratios against a floor written in C.
// The process tree (temp dir, C programs, the reaper) is lib/harness.ts.
import { execFile, execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BenchError, hasGnuTime, measure, runCommand, waitFor, type CommandResult } from "./lib/command.js";
import { dagProcs, expectedArgv, independentProcs, missingReadyFiles, orderReport, type Deployment, type ProcSpec } from "./lib/deployment.js";
import { harness, sweep } from "./lib/harness.js";
import { fixtureProcesses, liveProcesses, processCount, anonymousKB, helperChildren, residentKB, scanTimes, verifyGone, verifyRunning } from "./lib/proc.js";
import { Results, memoryCell, table, timeCell, verdict, type Column } from "./lib/results.js";
import { SUPERVISED_RESTART, floorSystem, pm2System, procmanModel, procmanSystem, supervisordSystem, waitDaemonGone, type System, type Tools } from "./lib/systems.js";
import { envInt, envInts, envList, formatMB, formatMs, formatSummary, rotate, summarize } from "./lib/util.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// inner: configuration

interface Config {
  readonly quick: boolean;
  readonly reps: number;
  readonly ns: number[];
  readonly scenarios: Set<string>;
  readonly systems: string[];
  readonly dagReadiness: string[];
  readonly layers: number;
  readonly delayMs: number;
  readonly interval: number;
  readonly switchN: number;
  readonly generateN: number;
  readonly warmup: boolean;
  readonly crashKills: number;
  readonly out: string | undefined;
}

function readConfig(): Config {
  const quick = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
  const ns = envInts("BENCH_N", quick ? [10, 50] : [50, 200, 500]);
  return {
    quick,
    reps: envInt("BENCH_REPS", quick ? 2 : 3),
    ns,
    scenarios: new Set(envList("BENCH_SCENARIOS", ["1", "2", "3", "4"])),
    systems: envList("BENCH_SYSTEMS", ["floor", "floor-logs", "procman", "procman-supervised", "supervisord", "pm2"]),
    dagReadiness: envList("BENCH_DAG_READINESS", ["command", "logLine"]),
    layers: envInt("BENCH_DAG_LAYERS", 10),
    delayMs: envInt("BENCH_DAG_DELAY_MS", 100),
    interval: Number(process.env.BENCH_DAG_INTERVAL ?? "0.02"),
    switchN: envInt("BENCH_SWITCH_N", Math.max(...ns)),
    generateN: envInt("BENCH_GENERATE_N", quick ? 1000 : 10_000),
    warmup: process.env.BENCH_WARMUP !== "0",
    crashKills: envInt("BENCH_CRASH_KILLS", 5),
    out: process.env.BENCH_OUT,
  };
}

const progress = (text: string) => process.stderr.write(`${text}\n`);

// ---------------------------------------------------------------------------------------------
// inner: the benchmark

/** Set on these machines, it costs every Node start ~90 ms: unset for every system alike (said in the report). */
let caCertsWere: string | undefined;

async function inner(root: string): Promise<void> {
  caCertsWere = process.env.NODE_EXTRA_CA_CERTS;
  delete process.env.NODE_EXTRA_CA_CERTS;
  const config = readConfig();
  const tools: Tools = {
    repo,
    node: process.execPath,
    fixture: path.join(root, "bin", "fixture"),
    floor: path.join(root, "bin", "floor"),
    // What package.json's bin names: the bundle (scripts/bundle.mjs), as users run it.
    procman: path.join(repo, "dist", "bundle", "bin.js"),
    pm2: path.join(repo, "node_modules", "pm2", "bin", "pm2"),
  };
  if (!existsSync(tools.procman)) throw new Error(`${tools.procman} is missing: run \`npm run build\` first (npm run bench does)`);

  const skipped: string[] = [];
  const available = (key: string): boolean => {
    if (key === "supervisord" && !onPath("supervisord")) return skip("supervisord is not installed (Debian: apt-get install supervisor)");
    if (key === "pm2" && !existsSync(tools.pm2)) return skip("PM2 is not installed (npm install)");
    if (key === "procman-supervised" && !existsSync(path.join(repo, "src", "supervisor"))) {
      return skip("procman (supervised): src/supervisor/ does not exist in this tree (the supervisor is not merged yet), so there is no supervisor to measure");
    }
    return true;
    function skip(why: string) {
      skipped.push(why);
      return false;
    }
  };
  const systems: System[] = [];
  for (const key of config.systems) {
    if (!available(key)) continue;
    if (key === "floor") systems.push(floorSystem(tools));
    else if (key === "floor-logs") systems.push(floorSystem(tools, true));
    else if (key === "procman") systems.push(procmanSystem(tools));
    else if (key === "procman-supervised") systems.push(procmanSystem(tools, "command", true));
    else if (key === "procman-base") systems.push(procmanSystem(tools, "command", false, baseBin()));
    else if (key === "procman-base-supervised") systems.push(procmanSystem(tools, "command", true, baseBin()));
    else if (key === "supervisord") systems.push(supervisordSystem());
    else if (key === "pm2") systems.push(pm2System(tools));
    else throw new Error(`BENCH_SYSTEMS: unknown system ${key} (floor, floor-logs, procman, procman-supervised, procman-base, procman-base-supervised, supervisord, pm2)`);
  }
  // The DAG adds a procman variant per extra readiness kind (command is the model's; logLine shows its cost).
  const dagSystems: System[] = systems.flatMap((system) =>
    system.key !== "procman" ? [system] : config.dagReadiness.map((kind) => procmanSystem(tools, kind === "logLine" ? "logLine" : "command")),
  );

  function baseBin(): string {
    const bin = process.env.BENCH_BASE_BIN;
    if (bin === undefined || !existsSync(bin)) throw new Error("BENCH_SYSTEMS procman-base: set BENCH_BASE_BIN to another build's dist/bundle/bin.js");
    return path.resolve(bin);
  }

  const results = new Results();
  const runs = path.join(root, "runs");
  mkdirSync(runs, { recursive: true });
  const startedAt = new Date();
  const before = { load: os.loadavg(), procs: processCount() };
  const calibration = await calibrate(runs, tools);

  let aborted = false;
  process.on("SIGINT", () => {
    if (aborted) return;
    aborted = true;
    progress("\nbench: interrupted, cleaning up …");
    sweep(root);
    process.exit(130);
  });

  const deployment = (id: string, procs: ProcSpec[], interval?: number): Deployment => {
    const dir = path.join(runs, id);
    mkdirSync(path.join(dir, "ready"), { recursive: true });
    mkdirSync(path.join(dir, "record"), { recursive: true });
    return { id, dir, procs, ...(interval !== undefined ? { interval } : {}) };
  };

  /** After a failed run: stop what may still run, by the system's own command, then by PID. */
  const rescue = async (system: System, d: Deployment, daemon: number | undefined) => {
    try {
      await runWithTimeout(() => system.down(d), 60_000);
    } catch {
      // it may never have come up
    }
    for (const found of fixtureProcesses(tools.fixture)) {
      try {
        process.kill(found.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await waitDaemonGone(daemon ?? system.daemonPid?.(d), system.label);
    await waitFor("fixtures gone after a failure", () => verifyGone(tools.fixture), 30_000).catch(() => undefined);
  };

  const maxN = Math.max(...config.ns);

  /** One bring-up and teardown; `extra` runs while everything is up. */
  const upDown = async (
    scenario: string,
    system: System,
    n: number,
    rep: number,
    procs: (d: { tag: string; dir: string }) => ProcSpec[],
    options: {
      interval?: number;
      record: boolean;
      whileUp?: (d: Deployment) => Promise<void>;
      /** Another teardown command than the system's own, and what to do with its time. */
      down?: (d: Deployment) => Promise<CommandResult>;
      onDown?: (ms: number) => void;
    },
  ) => {
    const id = `${scenario}-${system.key}-${n}-r${rep}`;
    const dir = path.join(runs, id);
    const d = deployment(id, procs({ tag: id, dir }), options.interval);
    let daemon: number | undefined;
    try {
      system.prepare(d);
      const expected = expectedArgv(d.procs);
      const dag = d.procs.some((proc) => proc.readyFile !== undefined);
      const up = await measure(`${id} up`, () => system.up(d), () => {
        const verified = verifyRunning(tools.fixture, expected);
        if (!verified.ok) return verified.reason;
        const missing = dag ? missingReadyFiles(d.procs) : 0;
        return missing === 0 ? undefined : `${missing} not ready yet`;
      });
      daemon = system.daemonPid?.(d);
      if (options.record) {
        results.add(scenario, system.key, n, "up", up.ms);
        results.add(scenario, system.key, n, "upRss", up.result.maxRssKB);
        if (dag) {
          const order = orderReport(d.procs);
          results.add(scenario, system.key, n, "violations", order.violations);
          results.add(scenario, system.key, n, "edges", order.edges);
          const latency = summarize(order.latenciesMs);
          if (latency !== undefined) results.add(scenario, system.key, n, "latency", latency.median);
        }
        if (daemon !== undefined) {
          results.add(scenario, system.key, n, "daemonRss", residentKB(daemon));
          results.add(scenario, system.key, n, "daemonAnon", anonymousKB(daemon));
          // Its helpers count too (procman's supervisor forks through a Perl runner).
          const helpers = helperChildren(daemon, tools.fixture).map((pid) => residentKB(pid) ?? 0);
          results.add(scenario, system.key, n, "helperRss", helpers.reduce((sum, kb) => sum + kb, 0));
          results.add(scenario, system.key, n, "withHelpersRss", (residentKB(daemon) ?? 0) + helpers.reduce((sum, kb) => sum + kb, 0));
        }
        await options.whileUp?.(d);
      }
      const down = await measure(`${id} down`, () => (options.down ?? system.down)(d), () => verifyGone(tools.fixture));
      options.onDown?.(down.ms);
      if (options.record) {
        results.add(scenario, system.key, n, "down", down.ms);
        results.add(scenario, system.key, n, "downRss", down.result.maxRssKB);
      }
      await waitDaemonGone(daemon, system.label);
      progress(`  ${id}: up ${formatMs(up.ms)}, down ${formatMs(down.ms)}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      progress(`  ${id}: FAILED: ${message}`);
      if (options.record) results.failures.push({ scenario, system: system.key, n, rep, message });
      await rescue(system, d, daemon);
    }
    // The run's directory stays until the bench ends (the harness removes the whole temp dir then):
    // removing its thousands of files here made creating a file in the next run up to 25 times
    // dearer for some seconds (bench/README.md, "Creating a file on this disk").
  };

  // ---- scenario 1: independent processes ----
  if (config.scenarios.has("1")) {
    if (config.warmup) {
      progress("warm-up (not recorded): one bring-up and teardown per system");
      const n = Math.min(...config.ns);
      for (const system of systems) {
        // supervisord's warm-up tears down with `supervisorctl shutdown` alone, to show why the tables do not.
        await upDown("warmup", system, n, 0, ({ tag }) => independentProcs(tools.fixture, tag, n), {
          record: false,
          ...(system.shutdownOnly !== undefined
            ? { down: system.shutdownOnly, onDown: (ms: number) => results.add("s1", system.key, n, "shutdownOnly", ms) }
            : {}),
        });
      }
    }
    for (let rep = 0; rep < config.reps; rep++) {
      for (const [index, n] of config.ns.entries()) {
        progress(`scenario 1 — ${n} independent processes, repetition ${rep + 1}/${config.reps}`);
        for (const system of rotate(systems, rep + index)) {
          await upDown("s1", system, n, rep, ({ tag }) => independentProcs(tools.fixture, tag, n), {
            record: true,
            whileUp:
              n === maxN && system.status !== undefined
                ? async (d) => {
                    const status = await system.status!(d);
                    if (status.result.code !== 0 && system.key !== "supervisord") throw new BenchError(`${system.label} status failed:\n${status.result.output}`);
                    if (status.running !== n) throw new BenchError(`${system.label} status reports ${status.running} running, not ${n}`);
                    results.add("status", system.key, n, "status", status.result.exitMs);
                    results.add("status", system.key, n, "statusRss", status.result.maxRssKB);
                    if (system.key === "procman-supervised") {
                      for (const ms of await crashToRestart(tools, d, config.crashKills)) results.add("crash", system.key, n, "restart", ms);
                    }
                  }
                : undefined,
          });
          if (aborted) return;
        }
      }
    }
  }

  // ---- scenario 2: a DAG in layers, each process ready 100 ms after its start ----
  if (config.scenarios.has("2")) {
    for (let rep = 0; rep < config.reps; rep++) {
      for (const [index, n] of config.ns.entries()) {
        progress(`scenario 2 — DAG of ${n} processes in ${config.layers} layers, repetition ${rep + 1}/${config.reps}`);
        for (const system of rotate(dagSystems, rep + index)) {
          await upDown("s2", system, n, rep, ({ tag, dir }) => dagProcs(tools.fixture, tag, dir, n, config.layers, config.delayMs), {
            interval: config.interval,
            record: true,
          });
          if (aborted) return;
        }
      }
    }
  }

  // ---- scenario 3: no-op and one-change switch (procman) ----
  if (config.scenarios.has("3") && config.systems.includes("procman")) {
    await switchScenario(results, tools, config, deployment);
  }

  // ---- scenario 4: generators ----
  if (config.scenarios.has("4")) {
    const names = ["systemd", "launchd", "supervisord", "sysvinit"];
    for (let rep = 0; rep < config.reps; rep++) {
      const order = rotate(names, rep);
      progress(`scenario 4 — generators on ${config.generateN} processes, repetition ${rep + 1}/${config.reps} (${order.join(", ")})`);
      try {
        const { stdout } = await execFileAsync(
          process.execPath,
          ["--import", "tsx", path.join(here, "generate-worker.ts"), String(config.generateN), order.join(",")],
          { cwd: repo, maxBuffer: 1 << 20 },
        );
        const out = JSON.parse(stdout.trim().split("\n").pop()!) as {
          resolveMs: number;
          times: Record<string, number>;
          files: Record<string, number>;
          bytes: Record<string, number>;
          maxRssKB: number;
        };
        results.add("s4", "procman", config.generateN, "resolve", out.resolveMs);
        let total = 0;
        for (const name of names) {
          results.add("s4", name, config.generateN, "time", out.times[name]);
          results.add("s4", name, config.generateN, "files", out.files[name]);
          results.add("s4", name, config.generateN, "bytes", out.bytes[name]);
          total += out.times[name] ?? 0;
        }
        results.add("s4", "all", config.generateN, "time", total);
        results.add("s4", "procman", config.generateN, "maxRss", out.maxRssKB);
        progress(`  resolve ${formatMs(out.resolveMs)}, generators ${formatMs(total)}`);
      } catch (error) {
        progress(`  FAILED: ${(error as Error).message}`);
        results.failures.push({ scenario: "s4", system: "procman", n: config.generateN, rep, message: (error as Error).message });
      }
    }
  }

  const left = verifyGone(tools.fixture);
  if (left !== undefined) throw new BenchError(`after the bench: ${left}`);
  const createFileMsAtEnd = createFileCost(runs);
  const report = render(results, config, systems, dagSystems, { startedAt, before, skipped, calibration, createFileMsAtEnd });
  process.stdout.write(`${report}\n`);
  if (config.out !== undefined) {
    writeFileSync(config.out, `${report}\n`);
    writeFileSync(`${config.out}.json`, `${JSON.stringify({ config: { ...config, scenarios: [...config.scenarios] }, ...results }, null, 1)}\n`);
  }
}

interface Calibration {
  /** Creating one new file in os.tmpdir() (open O_CREAT + close), ms. */
  readonly createFileMs: number;
  /** `procman --version`: Node's start plus loading procman's modules, ms. */
  readonly procmanVersionMs: number;
  readonly versionSamples: number[];
  /** `node -e 0`: the floor of every Node command. */
  readonly nodeMs: number;
}

/** Two costs of this machine that every procman command pays, measured so the tables can be read. */
async function calibrate(runs: string, tools: Tools): Promise<Calibration> {
  const dir = path.join(runs, "calibration");
  const createFileMs = createFileCost(runs);
  mkdirSync(dir, { recursive: true });
  const versions: number[] = [];
  for (let i = 0; i < 5; i++) {
    const result = await runCommand([tools.node, tools.procman, "--version"], { logFile: path.join(dir, "version.log") });
    versions.push(result.exitMs);
  }
  const nodes: number[] = [];
  for (let i = 0; i < 3; i++) nodes.push((await runCommand([tools.node, "-e", "0"], { logFile: path.join(dir, "node.log") })).exitMs);
  rmSync(dir, { recursive: true, force: true });
  return { createFileMs, procmanVersionMs: summarize(versions)!.median, versionSamples: versions, nodeMs: summarize(nodes)!.median };
}

/** ms per new file (open O_CREAT, close) in a fresh directory under `runs`. */
function createFileCost(runs: string): number {
  const dir = path.join(runs, "create-files");
  mkdirSync(dir, { recursive: true });
  const began = performance.now();
  for (let i = 0; i < 200; i++) closeSync(openSync(path.join(dir, `f${i}`), "w"));
  const ms = (performance.now() - began) / 200;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

/**
 * SIGKILLs `kills` of the supervised processes, one at a time, and times each until /proc shows a
 * live process with the same argv and another PID (polled; resolution one /proc scan).
 */
async function crashToRestart(tools: Tools, d: Deployment, kills: number): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < kills; k++) {
    const proc = d.procs[Math.floor(((k + 0.5) * d.procs.length) / kills)]!;
    const prefix = `${[tools.fixture, ...proc.argv.slice(1)].join("\0")}\0`;
    const [victim] = liveProcesses(prefix);
    if (victim === undefined) throw new BenchError(`crash-to-restart: ${proc.name} is not running`);
    const began = performance.now();
    process.kill(victim.pid, "SIGKILL");
    for (;;) {
      const found = liveProcesses(prefix).find((p) => p.pid !== victim.pid);
      if (found !== undefined) break;
      if (performance.now() - began > 30_000) throw new BenchError(`crash-to-restart: ${proc.name} was not restarted within 30 s`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    times.push(performance.now() - began);
    // Let the restarted one settle before the next kill.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return times;
}

function onPath(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function runWithTimeout<T>(action: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([action(), new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// scenario 3: switches against a running deployment of N processes

async function switchScenario(
  results: Results,
  tools: Tools,
  config: Config,
  deployment: (id: string, procs: ProcSpec[], interval?: number) => Deployment,
): Promise<void> {
  const n = config.switchN;
  const system = procmanSystem(tools);
  const pidsOf = (procs: readonly ProcSpec[], dag: boolean): Map<string, number> => {
    const verified = verifyRunning(tools.fixture, expectedArgv(procs));
    if (!verified.ok) throw new BenchError(verified.reason);
    if (dag && missingReadyFiles(procs) > 0) throw new BenchError(`${missingReadyFiles(procs)} not ready`);
    // By name: a changed process keeps its name, not its marker.
    return new Map(procs.map((proc) => [proc.name, verified.pids.get(proc.argv[1]!)!]));
  };
  /** Runs a switch, verifies from /proc, and checks that exactly `changed` got new PIDs. */
  const timedSwitch = async (metric: string, d: Deployment, before: Map<string, number>, changed: Set<string>, dag: boolean) => {
    writeFileSync(path.join(d.dir, "model.json"), JSON.stringify(procmanModel(d), null, 1));
    let after = new Map<string, number>();
    const measured = await measure(`${d.id} ${metric}`, () => system.up(d), () => {
      try {
        after = pidsOf(d.procs, dag);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    });
    const renewed = [...after].filter(([name, pid]) => before.get(name) !== pid).map(([name]) => name);
    const wrong = renewed.filter((name) => !changed.has(name));
    const missed = [...changed].filter((name) => !renewed.includes(name));
    if (wrong.length > 0 || missed.length > 0) {
      throw new BenchError(`${metric}: new PIDs for ${JSON.stringify(renewed)}, expected exactly ${JSON.stringify([...changed])}`);
    }
    results.add("s3", "procman", n, metric, measured.ms);
    results.add("s3", "procman", n, `${metric}Rss`, measured.result.maxRssKB);
    results.note(`s3-${metric}`, `${renewed.length} new PID${renewed.length === 1 ? "" : "s"}, ${after.size - renewed.length} unchanged (of ${after.size})`);
    progress(`  ${metric}: ${formatMs(measured.ms)} (${renewed.length} new PIDs)`);
    return after;
  };

  // Independent processes: no-op, then one process's args changed.
  for (const dag of [false, true]) {
    const id = dag ? `s3-dag-${n}` : `s3-independent-${n}`;
    progress(`scenario 3 — switches against ${n} running ${dag ? "DAG " : ""}processes`);
    const dir = path.join(deploymentRoot(tools), id);
    const procs: ProcSpec[] = dag ? dagProcs(tools.fixture, id, dir, n, config.layers, config.delayMs) : independentProcs(tools.fixture, id, n);
    const d = deployment(id, procs, dag ? config.interval : undefined);
    try {
      system.prepare(d);
      await measure(`${id} initial switch`, () => system.up(d), () => {
        try {
          pidsOf(procs, dag);
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      });
      let pids = pidsOf(procs, dag);
      for (let rep = 0; rep < config.reps; rep++) {
        const steps = rep % 2 === 0 ? ["noop", "change"] : ["change", "noop"];
        for (const step of steps) {
          if (step === "noop" && !dag) {
            pids = await timedSwitch("noop", d, pids, new Set(), dag);
          } else if (step === "change") {
            // Independent: any process. DAG: one of the next-to-last layer, so it restarts with its dependent.
            const candidates = procs.map((proc, i) => ({ proc, i })).filter(({ proc }) => !dag || proc.layer === config.layers - 2);
            const { proc, i } = candidates[(rep * 7) % candidates.length]!;
            const marker = `${id}.${i}.v${rep + 1}`;
            procs[i] = { ...proc, argv: [proc.argv[0]!, marker, ...proc.argv.slice(2)] };
            const changed = new Set([proc.name, ...dependentsOf(procs, i).map((j) => procs[j]!.name)]);
            pids = await timedSwitch(dag ? "dagChange" : "change", d, pids, changed, dag);
          }
        }
      }
      await measure(`${id} stop`, () => system.down(d), () => verifyGone(tools.fixture));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      progress(`  ${id}: FAILED: ${message}`);
      results.failures.push({ scenario: "s3", system: "procman", n, rep: 0, message });
      try {
        await system.down(d);
      } catch {
        // best effort
      }
      for (const found of fixtureProcesses(tools.fixture)) process.kill(found.pid, "SIGKILL");
    }
    // Kept until the bench ends, as the runs of scenarios 1 and 2 are.
  }
}

function deploymentRoot(tools: Tools): string {
  return path.join(path.dirname(path.dirname(tools.fixture)), "runs");
}

/** Transitive dependents of process i. */
function dependentsOf(procs: readonly ProcSpec[], i: number): number[] {
  const found: number[] = [];
  const queue = [i];
  while (queue.length > 0) {
    const current = queue.shift()!;
    procs.forEach((proc, j) => {
      if (proc.dependency === current && !found.includes(j)) {
        found.push(j);
        queue.push(j);
      }
    });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// the report

function render(
  results: Results,
  config: Config,
  systems: readonly System[],
  dagSystems: readonly System[],
  meta: {
    startedAt: Date;
    before: { load: number[]; procs: { total: number; zombies: number } };
    skipped: string[];
    calibration: Calibration;
    createFileMsAtEnd: number;
  },
): string {
  const out: string[] = [];
  const maxN = Math.max(...config.ns);
  const scan = summarize(scanTimes);
  const memory = execFileSync("free", ["-g"], { encoding: "utf8" }).split("\n").find((line) => line.startsWith("Mem:"))?.split(/\s+/)[1];
  const columns: Column[] = systems.map((system) => ({ key: system.key, label: system.label }));
  out.push(`## procman benchmark — ${meta.startedAt.toUTCString()}`);
  out.push("");
  out.push(
    `${os.cpus().length} CPUs (nproc ${execFileSync("nproc", { encoding: "utf8" }).trim()}), ${memory ?? "?"} GiB memory (free -g), ` +
      `Linux ${os.release()}, Node ${process.version}, ${config.reps} repetitions, N = ${config.ns.join(", ")}` +
      `${config.quick ? " (BENCH_QUICK)" : ""}. Load average at the start ${meta.before.load.map((x) => x.toFixed(2)).join(" ")}, ` +
      `at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${meta.before.procs.total} processes in /proc at the start ` +
      `(${meta.before.procs.zombies} zombies). One /proc scan (the resolution of every verified time): median ${scan !== undefined ? formatMs(scan.median) : "–"}, max ${scan !== undefined ? formatMs(scan.max) : "–"}.` +
      `${hasGnuTime ? "" : " /usr/bin/time is missing: no peak memory of commands."}` +
      ` Creating one file in ${os.tmpdir()} cost ${formatMs(meta.calibration.createFileMs)} at the start and ${formatMs(meta.createFileMsAtEnd)} at the end;` +
      ` \`procman --version\` (Node's start and procman's modules) takes ${formatMs(meta.calibration.procmanVersionMs)}.` +
      ` The whole bench took ${formatMs(Date.now() - meta.startedAt.getTime())}.` +
      ` NODE_EXTRA_CA_CERTS ${caCertsWere === undefined ? "was not set" : "was set in the bench's environment and is unset for every system and command measured"}` +
      ` (\`node -e 0\` takes ${formatMs(meta.calibration.nodeMs)} here).`,
  );
  for (const why of meta.skipped) out.push(`\nSkipped: ${why}.`);
  out.push("");
  out.push("Cells: median (min–max) over the repetitions · **ratio of the medians to the floor**.");

  if (config.scenarios.has("1")) {
    out.push("");
    out.push(`### 1. Bring-up and teardown of N independent processes (verified from /proc)`);
    out.push("");
    const rows: string[][] = [];
    for (const n of config.ns) {
      for (const [metric, phase] of [["up", "bring-up"], ["down", "teardown"]] as const) {
        const floor = results.summary("s1", "floor", n, metric);
        rows.push([String(n), phase, ...columns.map((column) => timeCell(results, "s1", column.key, n, metric, floor))]);
      }
    }
    out.push(table(["N", "phase", ...columns.map((column) => column.label)], rows));
    out.push("");
    const up = ratio(results, "s1", maxN, "up");
    const down = ratio(results, "s1", maxN, "down");
    const shutdownOnly = results.summary("s1", "supervisord", Math.min(...config.ns), "shutdownOnly");
    if (shutdownOnly !== undefined) {
      out.push(
        `supervisord's teardown is \`supervisorctl stop all\` then \`supervisorctl shutdown\`. \`shutdown\` alone (measured once, in the warm-up, N = ${Math.min(...config.ns)}) took ${formatMs(shutdownOnly.median)}: ` +
          "it stops one program per turn of supervisord's main loop, and a turn often waits out its 1 s poll timeout.",
      );
      out.push("");
    }
    const target = (value: number | undefined, limit: number) => (value === undefined ? "not measured" : `${value.toFixed(2)}× — ${value <= limit ? "met" : "**missed**"}`);
    out.push(`Targets at N = ${maxN}: procman bring-up ≤ 2× the floor: ${target(up, 2)}; teardown ≤ 3× the floor: ${target(down, 3)}` +
      `${results.summary("s1", "procman-supervised", maxN, "up") !== undefined ? `; supervised: bring-up ${target(ratio(results, "s1", maxN, "up", "procman-supervised"), 2)}, teardown ${target(ratio(results, "s1", maxN, "down", "procman-supervised"), 3)}` : ""}.`);
    const crash = results.summary("crash", "procman-supervised", maxN, "restart");
    if (crash !== undefined) {
      const policy = SUPERVISED_RESTART.delay * 1000;
      out.push("");
      out.push(
        `Crash to restart (supervised, N = ${maxN}, ${config.crashKills} processes SIGKILLed one at a time, until /proc shows the new one): ${formatSummary(crash)}, ` +
          `of which the policy delay is ${formatMs(policy)}: ${formatMs(crash.median - policy)} over it — target < 100 ms: ${crash.median - policy < 100 ? "met" : "**missed**"}.`,
      );
    }
  }

  if (config.scenarios.has("2")) {
    out.push("");
    out.push(`### 2. DAG: N processes in ${config.layers} layers, each ready ${config.delayMs} ms after its start, readiness polled every ${config.interval * 1000} ms`);
    out.push("");
    const dagColumns: Column[] = dagSystems.map((system) => ({ key: system.key, label: system.label }));
    const rows: string[][] = [];
    for (const n of config.ns) {
      const floor = results.summary("s2", "floor", n, "up");
      rows.push([String(n), "bring-up (all ready)", ...dagColumns.map((column) => timeCell(results, "s2", column.key, n, "up", floor))]);
      rows.push([
        String(n),
        "started before its dependency was ready",
        ...dagColumns.map((column) => {
          const violations = results.summary("s2", column.key, n, "violations");
          const edges = results.summary("s2", column.key, n, "edges");
          if (violations === undefined || edges === undefined) return "–";
          return `${formatSummary(violations, (x) => String(Math.round(x)))} of ${edges.median}`;
        }),
      ]);
      rows.push([
        String(n),
        "dependency ready → dependent started (median per run)",
        ...dagColumns.map((column) => formatSummary(results.summary("s2", column.key, n, "latency"))),
      ]);
      const floorDown = results.summary("s2", "floor", n, "down");
      rows.push([String(n), "teardown", ...dagColumns.map((column) => timeCell(results, "s2", column.key, n, "down", floorDown))]);
    }
    out.push(table(["N", "", ...dagColumns.map((column) => column.label)], rows));
    out.push("");
    const dag = ratio(results, "s2", maxN, "up");
    out.push(
      `Target at N = ${maxN}: procman DAG bring-up ≤ 1.2× its floor: ${dag === undefined ? "not measured" : `${dag.toFixed(2)}× — ${dag <= 1.2 ? "met" : "**missed**"}`}. ` +
        `The critical path is ${config.layers} × ${config.delayMs} ms = ${formatMs(config.layers * config.delayMs)} plus spawning and polling. ` +
        `supervisord (priority by layer) and PM2 (apps in layer order) have no readiness-gated start: their "started before its dependency was ready" counts are the point. ` +
        `Teardown: procman stops dependents first, layer by layer; the floor, PM2 and supervisord's \`stop all\` signal everything at once. ` +
        `"Dependency ready → dependent started" counts only the edges whose order was honoured.`,
    );
  }

  if (config.scenarios.has("3") || results.samples.some((s) => s.scenario === "status")) {
    out.push("");
    out.push(`### 3. Switches and status against N = ${config.switchN} running processes (procman)`);
    out.push("");
    const n = config.switchN;
    const rows: string[][] = [];
    const add = (label: string, metric: string, limit: number | undefined, noteKey: string) => {
      const summary = results.summary("s3", "procman", n, metric);
      const failures = results.failed("s3", "procman", n);
      rows.push([
        label,
        summary !== undefined ? formatSummary(summary) : failures > 0 ? "failed" : "–",
        limit !== undefined ? `≤ ${formatMs(limit)}` : "–",
        limit !== undefined ? verdict(summary?.median, limit) : "–",
        (results.notes.get(noteKey) ?? []).join("; ") || "–",
      ]);
    };
    if (config.scenarios.has("3")) {
      add("no-op switch (same model again)", "noop", 250, "s3-noop");
      add("one-change switch (one process's args changed)", "change", undefined, "s3-change");
      add(`one-change switch in the DAG (a layer-${config.layers - 1} process and its dependent; includes 2 × ${config.delayMs} ms readiness)`, "dagChange", undefined, "s3-dagChange");
    }
    const status = results.summary("status", "procman", maxN, "status");
    if (status !== undefined) {
      rows.push([`\`procman status --json\` (N = ${maxN}, during scenario 1)`, formatSummary(status), "≤ 150 ms", verdict(status.median, 150), "all reported running, as in /proc"]);
    }
    const supervisedStatus = results.summary("status", "procman-supervised", maxN, "status");
    if (supervisedStatus !== undefined) {
      rows.push([`\`procman status --json\`, supervised (N = ${maxN})`, formatSummary(supervisedStatus), "≤ 150 ms", verdict(supervisedStatus.median, 150), "all reported running, as in /proc"]);
    }
    const version = summarize(meta.calibration.versionSamples)!;
    rows.push(["`procman --version` (at the start)", formatSummary(version), "≤ 60 ms", verdict(version.median, 60), `\`node -e 0\`: ${formatMs(meta.calibration.nodeMs)}`]);
    out.push(table(["operation", "procman", "target", "", "verified from /proc"], rows));
    const others = systems.filter((system) => !system.key.startsWith("procman") && results.summary("status", system.key, maxN, "status") !== undefined);
    if (others.length > 0) {
      out.push("");
      out.push(
        `For comparison, the same question to the others at N = ${maxN}: ` +
          others
            .map((system) => `${system.key === "pm2" ? "`pm2 jlist`" : "`supervisorctl status`"} ${formatSummary(results.summary("status", system.key, maxN, "status"))}`)
            .join(", ") +
          ".",
      );
    }
  }

  if (config.scenarios.has("4")) {
    out.push("");
    out.push(`### 4. Generators on a model of ${config.generateN.toLocaleString("en")} processes (in-process, one cold Node process per repetition)`);
    out.push("");
    const n = config.generateN;
    const rows: string[][] = [];
    rows.push(["resolve the model once (normalize, validate, cycle check)", formatSummary(results.summary("s4", "procman", n, "resolve")), "–", "–"]);
    for (const name of ["systemd", "launchd", "supervisord", "sysvinit"]) {
      const files = results.summary("s4", name, n, "files");
      const bytes = results.summary("s4", name, n, "bytes");
      const time = results.summary("s4", name, n, "time");
      rows.push([
        `GENERATORS.${name} (target ≤ 1 s: ${verdict(time?.median, 1000)})`,
        formatSummary(time),
        files !== undefined ? String(files.median) : "–",
        bytes !== undefined ? formatMB(bytes.median / 1024) : "–",
      ]);
    }
    const all = results.summary("s4", "all", n, "time");
    rows.push([`**all four generators**`, formatSummary(all), "", ""]);
    out.push(table(["step", "wall time", "files", "output"], rows));
  }

  // Memory
  out.push("");
  out.push(`### 5. Memory`);
  out.push("");
  {
    const rows: string[][] = [];
    const rssCell = (scenario: string, key: string, n: number, metric: string) => memoryCell(results.summary(scenario, key, n, metric));
    if (config.scenarios.has("1")) {
      // The floors and unsupervised procman (this build or the base one) keep nothing resident.
      const noDaemon = (key: string) => key === "procman" || key === "procman-base" || key.startsWith("floor");
      rows.push([
        `resident daemon while N = ${maxN} run (VmRSS)`,
        ...columns.map((column) =>
          column.key === "procman" ? "**none** (nothing to supervise: no resident daemon)" : noDaemon(column.key) ? "none" : rssCell("s1", column.key, maxN, "daemonRss"),
        ),
      ]);
      rows.push([
        `of which anonymous (RssAnon: its heap and stacks, not its interpreter's shared code)`,
        ...columns.map((column) => (noDaemon(column.key) ? "" : rssCell("s1", column.key, maxN, "daemonAnon"))),
      ]);
      rows.push([
        `its helper processes (VmRSS; procman's supervisor: its Perl spawning runner)`,
        ...columns.map((column) => (noDaemon(column.key) ? "" : rssCell("s1", column.key, maxN, "helperRss"))),
      ]);
      rows.push([
        `daemon and helpers together (VmRSS)`,
        ...columns.map((column) => (noDaemon(column.key) ? "" : rssCell("s1", column.key, maxN, "withHelpersRss"))),
      ]);
      const supervisor = results.summary("s1", "procman-supervised", maxN, "withHelpersRss");
      const supervisord = results.summary("s1", "supervisord", maxN, "withHelpersRss");
      if (supervisor !== undefined && supervisord !== undefined) {
        rows.push([`target: the supervisor's VmRSS (with its helpers) ≤ supervisord's`, ...columns.map((column) => (column.key === "procman-supervised" ? (supervisor.median <= supervisord.median ? "met" : "**missed**") : ""))]);
      }
      rows.push([`peak RSS of the bring-up command, N = ${maxN}`, ...columns.map((column) => rssCell("s1", column.key, maxN, "upRss"))]);
      rows.push([`peak RSS of the teardown command, N = ${maxN}`, ...columns.map((column) => rssCell("s1", column.key, maxN, "downRss"))]);
      rows.push([`peak RSS of the status command, N = ${maxN}`, ...columns.map((column) => rssCell("status", column.key, maxN, "statusRss"))]);
    }
    if (config.scenarios.has("2")) {
      rows.push([`peak RSS of the DAG bring-up command, N = ${maxN}`, ...columns.map((column) => rssCell("s2", column.key, maxN, "upRss"))]);
    }
    if (rows.length > 0) out.push(table(["", ...columns.map((column) => column.label)], rows));
    const procmanRows: string[] = [];
    if (config.scenarios.has("3")) {
      procmanRows.push(`no-op switch ${rssCell("s3", "procman", config.switchN, "noopRss")}`);
      procmanRows.push(`one-change switch ${rssCell("s3", "procman", config.switchN, "changeRss")}`);
      procmanRows.push(`one-change switch in the DAG ${rssCell("s3", "procman", config.switchN, "dagChangeRss")}`);
    }
    if (config.scenarios.has("4")) procmanRows.push(`resolve + all generators on ${config.generateN.toLocaleString("en")} processes ${rssCell("s4", "procman", config.generateN, "maxRss")}`);
    if (procmanRows.length > 0) {
      out.push("");
      out.push(`procman's peak RSS in the other scenarios (N = ${config.switchN}): ${procmanRows.join("; ")}.`);
    }
    out.push("");
    out.push(
      "Peak RSS of a command is GNU time's maximum resident set size (for supervisord that of the launcher before it daemonizes, for PM2 that of its CLI); a daemon's is its VmRSS from /proc while all N processes run.",
    );
  }

  if (results.failures.length > 0) {
    out.push("");
    out.push("### Failures");
    out.push("");
    for (const failure of results.failures) {
      out.push(`- scenario ${failure.scenario}, ${failure.system}, N = ${failure.n}, repetition ${failure.rep + 1}: ${failure.message.split("\n")[0]}`);
    }
  }
  return out.join("\n");
}

function ratio(results: Results, scenario: string, n: number, metric: string, key = "procman"): number | undefined {
  const procman = results.summary(scenario, key, n, metric);
  const floor = results.summary(scenario, "floor", n, metric);
  return procman !== undefined && floor !== undefined ? procman.median / floor.median : undefined;
}

// Last, once every module-level constant above is initialized.
const root = await harness(import.meta.url);
if (root !== undefined) await inner(root);
