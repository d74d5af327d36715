// A real systemd for the tests: the host's own root booted read-only under systemd-nspawn
// (/work/shared/reference/systemd-nspawn.md). This host's PID 1 is not systemd, and a systemd must
// never run outside such a container (at start it moves every process of the root cgroup into its
// own scopes). One container per test file; `teardown()` halts it and removes the cgroups it made.
//
// Each container gets a cgroup of its own (`procman-nspawn-<owner pid>-<owner start>-<n>`, a child of
// this process's cgroup): nspawn with --keep-unit puts its `payload` and `supervisor` cgroups under
// the cgroup it runs in, so two containers started from one cgroup would share them, and removing
// the leftovers of one would touch the other's. Only the launcher we spawn is moved into it.
// An aborted run: the launcher asks the kernel to SIGTERM nspawn when this process dies (setpriv
// --pdeathsig), nspawn then halts the container; the next boot sweeps the cgroups whose owner is gone.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync } from "node:fs";
import path from "node:path";
import { runCaptured, type CliRun } from "./cli.js";
import { ROOT } from "./paths.js";
import { haveTool, type ToolCheckOptions } from "./tools.js";

/** Cgroup names and machine names of the test containers start with this; the sweep keys on it. */
export const CONTAINER_PREFIX = "procman-nspawn-";

/** What a command run in the container did: the same shape as a CLI run on the host. */
export type ExecResult = CliRun;

export interface ExecOptions {
  /** Added to the minimal environment (PATH, HOME, LANG); NODE_EXTRA_CA_CERTS is never passed. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory inside the container (default /). */
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export interface Container {
  /** The machine name (also the hostname inside). */
  readonly name: string;
  /** The container's PID 1 (systemd) as the host sees it. */
  readonly leader: number;
  /** The systemd-nspawn process on the host. */
  readonly nspawnPid: number;
  /** Runs `args` inside the container (all its namespaces) as root; never throws for a non-zero exit. */
  exec(args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** `exec` that throws, with its output, unless the command exits 0. */
  mustExec(args: readonly string[], options?: ExecOptions): Promise<string>;
  /** Halts the container (SIGTERM, then SIGKILL after a bound) and removes its cgroups. Idempotent. */
  teardown(): Promise<void>;
}

export interface BootOptions {
  /** Host paths bound read-write at the same path (state dirs, model dirs). */
  readonly binds?: readonly string[];
  /** Host paths bound read-only at the same path. The checkout, its node_modules and node are always bound. */
  readonly readOnlyBinds?: readonly string[];
  /** Bound on waiting for the boot (default 60 s). */
  readonly bootTimeoutMs?: number;
}

/**
 * Whether the tests needing a container may run: systemd-nspawn, nsenter and setpriv on PATH, and
 * root. Otherwise skips saying so, or throws under CI=true (as `haveTool`).
 */
export function canBootContainer(testName: string, options: ToolCheckOptions & { readonly uid?: number } = {}): boolean {
  for (const tool of ["systemd-nspawn", "nsenter", "setpriv"]) if (!haveTool(tool, testName, options)) return false;
  const env = options.env ?? process.env;
  const log = options.log ?? ((message: string) => console.log(message));
  const unable = (reason: string) => {
    if (env.CI === "true") throw new Error(`systemd-nspawn containers are required in CI: ${reason}`);
    log(`  SKIP ${testName}: ${reason}`);
    return false;
  };
  if ((options.uid ?? process.getuid?.()) !== 0) return unable("booting a systemd-nspawn container needs root");
  const hierarchies = cgroupHierarchies();
  if (hierarchies.length === 0) return unable("no cgroup hierarchy systemd-nspawn could use");
  const readOnly = hierarchies.map((hierarchy) => path.join(hierarchy.mount, hierarchy.own)).filter((dir) => !writable(dir));
  if (readOnly.length > 0) return unable(`cannot create a cgroup under ${readOnly.join(", ")}`);
  return true;
}

let counter = 0;

/** Boots a container and waits until its systemd is up (`running` or `degraded`). */
export async function bootContainer(options: BootOptions = {}): Promise<Container> {
  sweepStaleContainers();
  const owner = ownerTag(process.pid);
  if (owner === undefined) throw new Error("cannot read this process's start time from /proc");
  const name = `${CONTAINER_PREFIX}${owner}-${++counter}`;
  const cgroups = cgroupHierarchies().map((hierarchy) => path.join(hierarchy.mount, hierarchy.own, name));
  try {
    for (const dir of cgroups) mkdirSync(dir);
  } catch (error) {
    removeCgroups(cgroups.filter(isDir));
    throw error;
  }

  const readOnly = new Set([ROOT, realpathSync(path.join(ROOT, "node_modules")), ...(options.readOnlyBinds ?? [])]);
  // With --volatile=yes only /usr comes from the host: a node installed elsewhere must be bound.
  const node = realpathSync(process.execPath);
  if (!node.startsWith("/usr/")) readOnly.add(path.dirname(path.dirname(node)));
  const nspawn = [
    "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-M", name, "--private-network",
    "--console=read-only", "--kill-signal=SIGRTMIN+3", "-D", "/", "--volatile=yes",
    "--bind-ro=/etc/passwd", "--bind-ro=/etc/group",
    ...[...readOnly].map((dir) => `--bind-ro=${bindSpec(dir)}`),
    ...(options.binds ?? []).map((dir) => `--bind=${bindSpec(dir)}`),
    // firstboot would wait for a key on the empty /etc; the default target would wait minutes for
    // the presets' units (network-wait-online).
    "-b", "systemd.firstboot=off", "systemd.unit=basic.target",
  ];
  // The launcher moves itself (and only itself) into the container's cgroups, then becomes nspawn.
  const script = `${cgroups.map((dir) => `echo $$ > ${shQuote(path.join(dir, "cgroup.procs"))} || exit 97; `).join("")}exec setpriv --pdeathsig TERM -- "$@"`;
  // Its own session: a Ctrl-C to the test run reaches nspawn only through the parent-death signal.
  const child = spawn("/bin/sh", ["-c", script, "nspawn-launcher", ...nspawn], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let done = false;
  const halt = async () => {
    if (done) return;
    done = true;
    await stopNspawn(child, exited);
    removeCgroups(cgroups);
  };

  try {
    const deadline = Date.now() + (options.bootTimeoutMs ?? 60_000);
    let leader: number | undefined;
    // PID 1 inside is the child of nspawn whose comm is `systemd`; it listens on its private bus once up.
    while (leader === undefined || !existsSync(`/proc/${leader}/root/run/systemd/private`)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`systemd-nspawn exited (${child.exitCode ?? child.signalCode}) while booting`);
      if (Date.now() > deadline) throw new Error("the container's systemd did not come up in time");
      if (leader === undefined && child.pid !== undefined) leader = childNamed(child.pid, "systemd");
      await sleep(50);
    }
    const container = makeContainer(name, leader, child.pid!, halt);
    const state = await container.exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: Math.max(1000, deadline - Date.now()) });
    // `degraded` (a unit of the host's presets failed) exits 1 and is fine for the tests.
    if (!/^(running|degraded)$/m.test(state.stdout)) throw new Error(`the container's systemd is ${JSON.stringify(state.stdout.trim())} (${state.stderr.trim()})`);
    return container;
  } catch (error) {
    await halt();
    throw new Error(`booting ${name} failed: ${(error as Error).message}\n--- nspawn output ---\n${output}`, { cause: error });
  }
}

function makeContainer(name: string, leader: number, nspawnPid: number, halt: () => Promise<void>): Container {
  const exec = (args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> => {
    const env: Record<string, string> = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", ...options.env };
    delete env.NODE_EXTRA_CA_CERTS; // the tmpfs /etc/ssl inside is empty: node would warn on every run
    // `-w` takes PID 1's working directory (/); nsenter resolves `--wd=DIR` outside, so cd inside.
    const inDir = options.cwd === undefined ? args : ["/bin/sh", "-c", 'cd "$0" && exec "$@"', options.cwd, ...args];
    const argv = ["-t", String(leader), "-m", "-u", "-i", "-n", "-p", "-w", "--", ...inDir];
    return runCaptured("nsenter", argv, { env }, options.timeoutMs ?? 60_000, `in ${name}: ${args.join(" ")}`);
  };
  return {
    name,
    leader,
    nspawnPid,
    exec,
    mustExec: async (args, options) => {
      const result = await exec(args, options);
      if (result.code !== 0) throw new Error(`in ${name}: ${args.join(" ")} exited ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      return result.stdout;
    },
    teardown: halt,
  };
}

/** SIGTERM (nspawn halts the container: SIGRTMIN+3 to its systemd), SIGKILL after a bound. */
async function stopNspawn(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await within(exited, 15_000)) return;
  child.kill("SIGKILL");
  await within(exited, 5_000);
}

/**
 * Removes a container's cgroups, deepest first. Whatever still runs in them belongs to that
 * container (nspawn killed before it could halt): it is killed first, then the empty tree removed.
 */
function removeCgroups(roots: readonly string[]): void {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const left = roots.flatMap((root) => processesUnder(root));
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    const dirs = roots.flatMap((root) => treeDeepestFirst(root));
    for (const dir of dirs) {
      try {
        rmdirSync(dir);
      } catch {
        // still busy (a process not yet reaped): retried below
      }
    }
    if (roots.every((root) => !existsSync(root))) return;
    if (Date.now() > deadline) throw new Error(`cgroups left behind: ${roots.filter((root) => existsSync(root)).join(", ")}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/** The cgroups of the container named `name` that exist now (one per hierarchy at most). */
export function cgroupsOf(name: string): string[] {
  return cgroupHierarchies()
    .map((hierarchy) => path.join(hierarchy.mount, hierarchy.own, name))
    .filter(isDir);
}

/** Cgroups of containers whose owning test process is gone (killed): the container in them is removed. */
export function sweepStaleContainers(): void {
  for (const hierarchy of cgroupHierarchies()) {
    const parent = path.join(hierarchy.mount, hierarchy.own);
    let entries: string[];
    try {
      entries = readdirSync(parent);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const match = new RegExp(`^${CONTAINER_PREFIX}(\\d+)-(\\d+)-\\d+$`).exec(entry);
      if (match === null) continue;
      if (ownerTag(Number(match[1])) === `${match[1]}-${match[2]}`) continue; // its owner still runs
      const root = path.join(parent, entry);
      // The nspawn in `supervisor` first gets its chance to halt the container cleanly.
      for (const pid of processesUnder(path.join(root, "supervisor"))) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // gone already
        }
      }
      try {
        removeCgroups([root]);
      } catch (error) {
        console.warn(`  WARNING: a stale test container's cgroup stays: ${(error as Error).message}`);
      }
    }
  }
}

interface Hierarchy {
  /** Where the hierarchy is mounted. */
  readonly mount: string;
  /** This process's cgroup in it (relative, "" for the root). */
  readonly own: string;
}

/**
 * The hierarchies nspawn puts a container's cgroups in: systemd's named v1 hierarchy and the
 * unified one on a hybrid host (as here), or the unified one alone on a cgroup2 host.
 */
function cgroupHierarchies(): Hierarchy[] {
  let lines: string[];
  try {
    lines = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n");
  } catch {
    return [];
  }
  const ownIn = (controllers: string) => lines.map((line) => line.split(":")).find((parts) => parts[1] === controllers)?.slice(2).join(":").replace(/^\//, "");
  const found: Hierarchy[] = [];
  const named = ownIn("name=systemd");
  const unified = ownIn("");
  if (named !== undefined && isDir("/sys/fs/cgroup/systemd")) found.push({ mount: "/sys/fs/cgroup/systemd", own: named });
  if (unified !== undefined) {
    if (isDir("/sys/fs/cgroup/unified") && existsSync("/sys/fs/cgroup/unified/cgroup.procs")) found.push({ mount: "/sys/fs/cgroup/unified", own: unified });
    else if (existsSync("/sys/fs/cgroup/cgroup.controllers")) found.push({ mount: "/sys/fs/cgroup", own: unified });
  }
  return found;
}

function treeDeepestFirst(root: string): string[] {
  if (!isDir(root)) return [];
  const below = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => treeDeepestFirst(path.join(root, entry.name)));
  return [...below, root];
}

function processesUnder(root: string): number[] {
  return treeDeepestFirst(root).flatMap((dir) => {
    try {
      return readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** `<pid>-<start time in clock ticks>`: names a process so that a reused PID does not match. */
function ownerTag(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return `${pid}-${fields[19]}`;
  } catch {
    return undefined;
  }
}

/** A child of `parent` whose comm is `comm` (scanning /proc: no CONFIG_PROC_CHILDREN needed). */
function childNamed(parent: number, comm: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent && name === comm) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** nspawn's bind syntax separates source and target with ':'; a path holding one cannot be bound. */
function bindSpec(dir: string): string {
  if (dir.includes(":")) throw new Error(`cannot bind ${dir} into a container: it contains ':'`);
  return dir;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function isDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
