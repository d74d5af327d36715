// Shared by the tests under test/systemd: one container per test file (booted in `before`, removed
// in `after`, so a failing test still tears it down), a scratch dir bound into it at the same path,
// and small readers of systemd's state. The unit names are the generator's contract (issue 8 item 3):
// `procman-<name>.service` and `procman.target`.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { suite, type Test } from "uvu";
import { checkBuild, BIN } from "../helpers/cli.js";
import { bootContainer, canBootContainer, type Container, type ExecResult } from "../helpers/nspawn.js";
import { makeTempDir } from "../helpers/tmp.js";

export const PREFIX = "procman";
export const TARGET = `${PREFIX}.target`;
export const unitOf = (name: string, prefix = PREFIX) => `${prefix}-${name}.service`;

export interface Host {
  /**
   * The suite's container; undefined when it cannot be booted here (the test then returns: a skip,
   * said once). Throws what went wrong when the boot failed (or when a skip is a failure, in CI).
   */
  use(): Container | undefined;
  /** Bound into the container at the same path: every test's state, model and output dirs live here. */
  readonly scratch: string;
}

/**
 * A uvu suite whose tests share one container, booted in `before` and removed in `after`. uvu
 * swallows an error thrown by a `before` hook (the suite then "passes"), so it is kept and thrown
 * by every test's `use()` instead.
 */
export function containerSuite(title: string): { test: Test; host: Host } {
  const test = suite(title);
  let container: Container | undefined;
  let failure: unknown;
  const host: Host = {
    scratch: makeTempDir("procman-systemd-"),
    use: () => {
      if (failure !== undefined) throw failure;
      return container;
    },
  };
  test.before(async () => {
    try {
      if (!canBootContainer(title)) return;
      checkBuild();
      container = await bootContainer({ binds: [host.scratch] });
    } catch (error) {
      failure = error;
    }
  });
  test.after(async () => {
    await container?.teardown();
    container = undefined;
  });
  return { test, host };
}

export interface Dirs {
  readonly root: string;
  readonly state: string;
  readonly models: string;
  readonly out: string;
  /** Where the test processes write their own records (timestamps, stop order). */
  readonly marks: string;
}

let count = 0;

/** Fresh dirs for one test under the scratch dir. The state dir does not exist yet (as on a new machine). */
export function dirsFor(host: Host, label: string): Dirs {
  const root = path.join(host.scratch, `${++count}-${label}`);
  const dirs = { root, state: path.join(root, "state"), models: path.join(root, "models"), out: path.join(root, "out"), marks: path.join(root, "marks") };
  mkdirSync(dirs.models, { recursive: true });
  mkdirSync(dirs.marks, { recursive: true });
  return dirs;
}

/** Writes a JSON model (a mapping from name to process) and returns its path. */
export function writeModel(dirs: Dirs, processes: Record<string, unknown>, file = "processes.json"): string {
  const target = path.join(dirs.models, file);
  writeFileSync(target, JSON.stringify(processes, null, 2));
  return target;
}

/** `procman ...args` run inside the container as root, from the bound checkout's build. */
export function procmanInside(container: Container, args: readonly string[]): Promise<ExecResult> {
  return container.exec([process.execPath, BIN, ...args], { timeoutMs: 120_000, env: { NO_COLOR: "1" } });
}

export function systemctl(container: Container, ...args: string[]): Promise<ExecResult> {
  return container.exec(["systemctl", "--no-pager", ...args]);
}

/** One property of a unit as systemd reports it (`systemctl show -p NAME --value`). */
export async function property(container: Container, unit: string, name: string): Promise<string> {
  return (await container.mustExec(["systemctl", "show", "-p", name, "--value", unit])).trim();
}

/** The unit's main PID, or undefined when it has none (not running). */
export async function mainPid(container: Container, unit: string): Promise<number | undefined> {
  const pid = Number(await property(container, unit, "MainPID"));
  return pid > 0 ? pid : undefined;
}

/** Everything under /etc/systemd/system (path and link target), to compare before and after. */
export async function etcUnits(container: Container): Promise<string[]> {
  const listing = await container.mustExec(["find", "/etc/systemd/system", "-mindepth", "1", "-printf", "%P -> %l\\n"]);
  return listing.split("\n").filter(Boolean).sort();
}

/** Units whose name starts with `prefix-` (or is `prefix.target`) that systemd has loaded and are active or activating. */
export async function activeUnits(container: Container, prefix = PREFIX): Promise<string[]> {
  const out = await container.mustExec(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", `${prefix}-*`, `${prefix}.target`]);
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 3 && /^(active|activating|reloading|deactivating)$/.test(fields[2]!))
    .map((fields) => fields[0]!)
    .sort();
}

/** Polls `check` every 50 ms until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * sh for a test process: runs `first` (sh), then idles until SIGTERM, when it appends `name` to
 * marks/stops (so the stop order is the processes' own record) and exits 0.
 */
export function idleScript(name: string, marks: string, first = ":"): string[] {
  const stops = path.join(marks, "stops");
  // NAME.trapped says the trap is in place: systemd counts a unit without readiness active at the fork, before it.
  const trapped = path.join(marks, `${name}.trapped`);
  return ["-c", `${first}; trap 'echo ${name} >> ${stops}; exit 0' TERM; : > ${trapped}; while :; do sleep 1 & wait $!; done`];
}
