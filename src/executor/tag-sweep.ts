// What a stopped process leaves behind: a child that called setsid(), a double-forked worker, a
// daemon's workers outside the PID file's group. Each inherited procman's tag in its environment,
// so after a stop every live process carrying a stopped tag goes too, in any session. One /proc
// scan serves every name a command stopped. What wipes its environment (nginx and redis rewrite
// their process title, which clears /proc/PID/environ) cannot be found this way.
import { isLive, listPids, readEnvironmentVariable, readProcStat, stillRuns, checkIdentity, type ProcessIdentity } from "./proc.js";

/** Environment variable that marks every process procman spawns: `<name>:<specHash>:<stateDir>`. */
export const TAG_VARIABLE = "PROCMAN_TAG";

export function tagFor(name: string, specHash: string, stateDir: string): string {
  return `${name}:${specHash}:${stateDir}`;
}

export interface SweepSettings {
  readonly stopSignal: string;
  /** Seconds before SIGKILL. */
  readonly stopTimeout: number;
}

export interface Swept extends ProcessIdentity {
  readonly tag: string;
  readonly killed: boolean;
}

/** Live processes carrying one of these tags, found in one scan of /proc (never procman or `exclude`). */
export function findTagged(tags: ReadonlySet<string>, exclude: readonly number[] = []): (ProcessIdentity & { tag: string })[] {
  const found: (ProcessIdentity & { tag: string })[] = [];
  if (tags.size === 0) return found;
  const skip = new Set([process.pid, ...exclude]);
  for (const pid of listPids()) {
    if (skip.has(pid)) continue;
    const stat = readProcStat(pid);
    if (!isLive(stat)) continue;
    const tag = readEnvironmentVariable(pid, TAG_VARIABLE);
    if (tag !== undefined && tags.has(tag)) found.push({ pid, startTime: stat.startTime, tag });
  }
  return found;
}

/**
 * Stops every live process that carries one of `targets`' tags: its tag's stop signal (then SIGCONT,
 * so a paused one can act on it), SIGKILL after the stop timeout. Each by PID, identity re-checked
 * before every signal; resolves once all are gone.
 */
export async function sweepTagged(
  targets: ReadonlyMap<string, SweepSettings>,
  options: { readonly exclude?: readonly number[] } = {},
): Promise<Swept[]> {
  const swept: Swept[] = [];
  // A process may fork between the scan and its signal: scan again until a scan finds nobody.
  for (let round = 0; round < 5; round++) {
    const found = findTagged(new Set(targets.keys()), options.exclude);
    if (found.length === 0) break;
    swept.push(...(await stopAll(found, targets)));
  }
  return swept;
}

async function stopAll(found: readonly (ProcessIdentity & { tag: string })[], targets: ReadonlyMap<string, SweepSettings>): Promise<Swept[]> {
  const send = (member: ProcessIdentity, signal: string) => {
    if (!stillRuns(checkIdentity(member))) return;
    try {
      process.kill(member.pid, signal as NodeJS.Signals);
    } catch {
      // gone meanwhile
    }
  };
  for (const member of found) {
    send(member, targets.get(member.tag)!.stopSignal);
    send(member, "SIGCONT");
  }
  const began = Date.now();
  const killed = new Set<number>();
  let pause = 2;
  for (;;) {
    const left = found.filter((member) => stillRuns(checkIdentity(member)));
    if (left.length === 0) break;
    for (const member of left) {
      if (killed.has(member.pid)) continue;
      if (Date.now() - began >= targets.get(member.tag)!.stopTimeout * 1000) {
        send(member, "SIGKILL");
        killed.add(member.pid);
      }
    }
    if (Date.now() - began > (Math.max(...[...targets.values()].map((target) => target.stopTimeout)) + 10) * 1000) {
      throw new Error(`tagged processes still alive after SIGKILL: ${left.map((member) => member.pid).join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 20);
  }
  return found.map((member) => ({ ...member, killed: killed.has(member.pid) }));
}
