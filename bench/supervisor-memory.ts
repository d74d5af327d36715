// The supervisor's resident memory, in one invocation: an idle Node process for reference, then per
// variant (how the supervisor is run: entry file and Node flags) the supervisor idle with nothing
// deployed, and with N `sleep` processes under a restart policy, right after the switch and again
// once it has settled. Each variant's supervisor is started by this script (exactly as
// startSupervisor does: detached, stdio to its log) before the switch, which finds it and hands it
// the generation; the last variant, "as shipped", lets `procman switch` start it. Also the time from
// a SIGKILL of one process to its restart (what a slower interpreter would cost).
//
//   npm run build && node --import tsx bench/supervisor-memory.ts
//   MEM_N=500 MEM_SETTLE_MS=5000 MEM_KILLS=5 MEM_LIVENESS=1 MEM_VARIANTS='bundle:--max-semi-space-size=1;bundle:--jitless'
//
// A variant is `ENTRY:WORD WORD…` with ENTRY `bundle` (dist/bundle/supervisor.cjs) or `tsc`
// (dist/src/supervisor/main.js) or the absolute path of another build's entry (an older commit's,
// to compare); a WORD is a Node flag, or NAME=VALUE for its environment.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(root, "dist", "bundle", "bin.js");
const entries: Record<string, string> = {
  bundle: path.join(root, "dist", "bundle", "supervisor.cjs"),
  tsc: path.join(root, "dist", "src", "supervisor", "main.js"),
};
const n = Number(process.env.MEM_N ?? 500);
const settleMs = Number(process.env.MEM_SETTLE_MS ?? 5000);
const kills = Number(process.env.MEM_KILLS ?? 5);
const variants = (process.env.MEM_VARIANTS ?? "bundle:--max-semi-space-size=1")
  .split(";")
  .filter((v) => v.trim() !== "")
  .map((v) => {
    const at = v.indexOf(":");
    const words = v.slice(at + 1).split(" ").filter((f) => f !== "");
    // NAME=VALUE words are the supervisor's environment, the rest Node's flags.
    const vars = words.filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w));
    return { entry: v.slice(0, at), flags: words.filter((w) => !vars.includes(w)), vars };
  });
// Every system in the bench runs without it (it costs start-up time and memory).
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

interface Memory {
  rss: number;
  anon: number;
  file: number;
}

function memory(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/status`, "latin1");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") };
}

/** VmRSS (kB) of the supervisor's spawning runner (its Perl child), 0 without one. */
function runnerKB(pid: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== pid) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, "latin1").startsWith("/usr/bin/perl\0")) continue;
      total += memory(Number(entry)).rss;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const mb = (kb: number) => `${(kb / 1024).toFixed(1)}`;
const cell = (m: Memory) => `${mb(m.rss)} (anon ${mb(m.anon)}, file ${mb(m.file)})`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function supervisorPid(stateDir: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(path.join(stateDir, "lib", "procman", "supervisor.pid"), "utf8")) as { pid: number }).pid;
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function procman(...args: string[]): string {
  return execFileSync(process.execPath, [cli, ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Process i runs `/bin/sleep <1000000 + i>`: found in /proc by its command line. */
function runningPid(i: number): number | undefined {
  const wanted = `/bin/sleep\0${1_000_000 + i}\0`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "latin1") === wanted && alive(Number(entry))) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

const base = mkdtempSync(path.join(os.tmpdir(), "procman-mem-"));
const rows: string[][] = [];
try {
  // An idle Node process, the floor of any supervisor written for Node.
  const idle = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e9)"], { env, stdio: "ignore" });
  await sleep(1000);
  rows.push(["node -e 'setInterval(…)' (idle Node)", cell(memory(idle.pid!)), "", "", ""]);
  idle.kill("SIGKILL");

  const model: Record<string, unknown> = {};
  // MEM_LIVENESS=S: each process also has a liveness check every S seconds (logWithin, which never
  // fails here): the supervisor's CPU then shows what its interpreter costs.
  const liveness = process.env.MEM_LIVENESS !== undefined ? { liveness: { logWithin: 86400, interval: Number(process.env.MEM_LIVENESS) } } : {};
  for (let i = 0; i < n; i++) model[`p${i}`] = { process: "/bin/sleep", args: [String(1_000_000 + i)], restart: { policy: "always", delay: 0.1 }, ...liveness };
  const modelFile = path.join(base, "model.json");
  writeFileSync(modelFile, JSON.stringify(model));

  for (const [index, variant] of [...variants, { entry: "shipped", flags: [] as string[], vars: [] as string[] }].entries()) {
    const stateDir = path.join(base, `state-${index}`);
    let idleMem = "";
    if (variant.entry !== "shipped") {
      const entry = variant.entry.startsWith("/") ? variant.entry : entries[variant.entry];
      if (entry === undefined) throw new Error(`unknown entry ${variant.entry} (bundle, tsc or an absolute path)`);
      mkdirSync(path.join(stateDir, "log"), { recursive: true });
      const log = openSync(path.join(stateDir, "log", "procman-supervisor.log"), "a");
      const child = spawn(process.execPath, [...variant.flags, entry, stateDir], {
        detached: true,
        stdio: ["ignore", log, log],
        cwd: "/",
        env: { ...env, ...Object.fromEntries(variant.vars.map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])) },
      });
      closeSync(log);
      child.unref();
      await until("the supervisor's PID file", () => (supervisorPid(stateDir) === child.pid ? true : undefined));
      await sleep(settleMs);
      idleMem = cell(memory(child.pid!));
    }
    const began = performance.now();
    procman("switch", modelFile, "--state-dir", stateDir);
    const switchMs = performance.now() - began;
    const pid = await until("the supervisor", () => supervisorPid(stateDir));
    const after = memory(pid);
    const cpuBefore = cpuMs(pid);
    await sleep(settleMs);
    const settled = memory(pid);
    const runnerSettled = runnerKB(pid);
    const cpuShare = (cpuMs(pid) - cpuBefore) / settleMs;
    // Crash to restart: SIGKILL one process, wait until status shows a new running PID.
    const restarts: number[] = [];
    for (let k = 0; k < kills; k++) {
      const i = (k * 7) % n;
      const victim = await until(`p${i} running`, () => runningPid(i));
      const killed = performance.now();
      process.kill(victim, "SIGKILL");
      await until(`p${i} restarted`, () => {
        const now = runningPid(i);
        return now !== undefined && now !== victim ? now : undefined;
      });
      restarts.push(performance.now() - killed);
    }
    const afterKills = memory(pid);
    procman("stop", "--state-dir", stateDir);
    // The supervisor's own share, from its log: exit seen → restart begun (the policy's delay) →
    // started (ending the old group, spawning the new one: the work a slower interpreter slows down).
    const at = new Map<string, number>();
    for (const line of readFileSync(path.join(stateDir, "log", "procman-supervisor.log"), "utf8").split("\n")) {
      const match = /^(\S+) (p\d+): (PID \d+ (?:was )?killed|restarting|started PID)/.exec(line);
      if (match === null) continue;
      const kind = match[3]!.startsWith("PID") ? "exited" : match[3]!.startsWith("restarting") ? "restarting" : "started";
      const key = `${match[2]}/${kind}`;
      if (!at.has(key) || kind !== "exited") at.set(key, Date.parse(match[1]!));
    }
    const work: number[] = [];
    for (let k = 0; k < kills; k++) {
      const began = at.get(`p${(k * 7) % n}/restarting`);
      const started = at.get(`p${(k * 7) % n}/started`);
      if (began !== undefined && started !== undefined) work.push(started - began);
    }
    work.sort((a, b) => a - b);
    restarts.sort((a, b) => a - b);
    const label = variant.entry === "shipped" ? "as shipped (switch starts it)" : `${variant.entry} ${[...variant.vars, ...variant.flags].join(" ")}`;
    rows.push([
      label,
      idleMem,
      `${cell(after)} (switch ${(switchMs / 1000).toFixed(2)} s)`,
      `${cell(settled)}; CPU ${(cpuShare * 100).toFixed(1)} %; its Perl runner ${mb(runnerSettled)}`,
      `${cell(afterKills)}; crash to restart median ${restarts[Math.floor(restarts.length / 2)]?.toFixed(0)} ms, max ${restarts.at(-1)?.toFixed(0)} ms (policy delay 100 ms); restarting → started median ${work[Math.floor(work.length / 2)] ?? "?"} ms`,
    ]);
    process.stderr.write(`${rows.at(-1)!.join(" | ")}\n`);
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}

process.stdout.write(`\nSupervisor VmRSS in MB (N = ${n}, settle ${settleMs} ms, ${os.cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()})\n\n`);
process.stdout.write(`| variant | idle, nothing deployed | N deployed, right after the switch | N deployed, settled (and its CPU meanwhile) | after ${kills} crash-restarts |\n|---|---|---|---|---|\n`);
for (const row of rows) process.stdout.write(`| ${row.join(" | ")} |\n`);
