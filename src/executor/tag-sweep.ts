// What a stopped process leaves behind: a child that called setsid(), a double-forked worker, a
// daemon's workers outside the PID file's group. Each inherited procman's tag in its environment,
// so after a stop every live process carrying a stopped tag goes too, in any session. One /proc
// scan serves every name a command stopped. What wipes its environment (nginx and redis rewrite
// their process title, which clears /proc/PID/environ) cannot be found this way.
import type { ResolvedProcess } from "../model/types.js";
import { waitGone } from "./gone-poller.js";
import { terminate } from "./terminate.js";
import { ancestorsOf, checkIdentity, isLive, listPids, readEnvironmentVariable, readProcStat, stillRuns, type ProcessIdentity } from "./proc.js";

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

/** The process name a tag was made for. */
export function tagName(tag: string): string {
  return tag.slice(0, tag.indexOf(":"));
}

/**
 * Whether a tag was made for this state dir: all after its second ":" (a name and a spec hash or
 * manager hold none). Not a suffix test: a state dir "/x:/a/b" ends in ":/a/b" too.
 */
export function taggedForDir(tag: string, stateDir: string): boolean {
  const first = tag.indexOf(":");
  const second = first < 0 ? -1 : tag.indexOf(":", first + 1);
  return second >= 0 && tag.slice(second + 1) === stateDir;
}

/** How a process's leftovers are stopped: as the process itself. */
export function sweepSettingsOf(spec: ResolvedProcess): SweepSettings {
  return { stopSignal: spec.stop.signal, stopTimeout: spec.stop.timeout };
}

export interface Swept extends ProcessIdentity {
  readonly tag: string;
  readonly killed: boolean;
}

/** Live processes carrying one of these tags, found in one scan of /proc (never procman, its ancestors or `exclude`). */
export function findTagged(tags: ReadonlySet<string>, exclude: readonly number[] = []): (ProcessIdentity & { tag: string })[] {
  return tags.size === 0 ? [] : scanTagged((tag) => tags.has(tag), exclude);
}

/**
 * Live processes whose tag `wanted` accepts, in one pass over /proc. The environment of each comes
 * first (a zombie's and a kernel thread's read empty): most processes are not procman's, and cost
 * that one read. A tagged one is then read as the identity checks have it, its stat before its
 * tag: should its PID be reused in between, the identity is the old process's and is never signalled.
 */
export function scanTagged(wanted: (tag: string) => boolean, exclude: readonly number[] = []): (ProcessIdentity & { tag: string })[] {
  const found: (ProcessIdentity & { tag: string })[] = [];
  // A tag is only an environment variable: a shell that runs procman inside a managed service's
  // environment carries one too. procman and its ancestors are never swept.
  const skip = new Set([process.pid, ...ancestorsOf(process.pid), ...exclude]);
  for (const pid of listPids()) {
    if (skip.has(pid)) continue;
    const first = readEnvironmentVariable(pid, TAG_VARIABLE);
    if (first === undefined || !wanted(first)) continue;
    const stat = readProcStat(pid);
    if (!isLive(stat)) continue;
    const tag = readEnvironmentVariable(pid, TAG_VARIABLE);
    if (tag !== undefined && wanted(tag)) found.push({ pid, startTime: stat.startTime, tag });
  }
  return found;
}

/**
 * Tagged session leaders of this state dir that no record names, under a name without a live
 * record: what a procman killed between a spawn and its record left (a recorded process's own
 * setsid'd child stays its own). procman and its ancestors are never among them.
 */
export function unrecordedLeaders(stateDir: string, records: readonly (ProcessIdentity & { readonly name: string })[]): (ProcessIdentity & { tag: string; name: string })[] {
  const known = new Set(records.map((record) => record.pid));
  // A name whose record runs was never a lost spawn (a name's record goes before it starts again).
  const running = new Set(records.filter((record) => stillRuns(checkIdentity(record))).map((record) => record.name));
  // A shell started inside a managed service's environment carries its tag: procman's ancestors stay.
  const skip = new Set([process.pid, ...ancestorsOf(process.pid)]);
  const found: (ProcessIdentity & { tag: string; name: string })[] = [];
  for (const pid of listPids()) {
    if (known.has(pid) || skip.has(pid)) continue;
    const stat = readProcStat(pid);
    // Only session leaders: what procman spawned (foreground) or what a daemon made of itself.
    if (!isLive(stat) || stat.session !== pid) continue;
    const tag = readEnvironmentVariable(pid, TAG_VARIABLE);
    if (tag === undefined || !taggedForDir(tag, stateDir) || running.has(tagName(tag))) continue;
    found.push({ pid, startTime: stat.startTime, tag, name: tagName(tag) });
  }
  return found;
}

/** Every live process tagged for this state dir, whatever its name. */
export function taggedFor(stateDir: string): (ProcessIdentity & { tag: string })[] {
  return scanTagged((tag) => taggedForDir(tag, stateDir));
}

/**
 * Stops every live process that carries one of `targets`' tags: its tag's stop signal (then SIGCONT,
 * so a paused one can act on it), SIGKILL after the stop timeout. Each by PID, identity re-checked
 * before every signal; resolves once all are gone.
 */
export async function sweepTagged(
  targets: ReadonlyMap<string, SweepSettings>,
  options: { readonly exclude?: readonly number[]; readonly confirmMs?: number } = {},
): Promise<Swept[]> {
  const swept: Swept[] = [];
  // A process may fork between the scan and its signal: scan again until a scan finds nobody.
  // `confirmMs`: right after a start, a child may be inside execve, where its environment reads
  // empty for a moment: a scan that finds nobody is taken only when a second one, that much
  // later, agrees.
  let confirmed = options.confirmMs === undefined;
  for (let round = 0; round < 6; round++) {
    const found = findTagged(new Set(targets.keys()), options.exclude);
    if (found.length === 0) {
      if (confirmed) break;
      confirmed = true;
      await new Promise((resolve) => setTimeout(resolve, options.confirmMs));
      continue;
    }
    swept.push(...(await stopAll(found, targets)));
  }
  return swept;
}

async function stopAll(found: readonly (ProcessIdentity & { tag: string })[], targets: ReadonlyMap<string, SweepSettings>): Promise<Swept[]> {
  const send = (member: ProcessIdentity, signals: readonly string[]) => {
    if (!stillRuns(checkIdentity(member))) return;
    for (const signal of signals) {
      try {
        process.kill(member.pid, signal as NodeJS.Signals);
      } catch {
        // gone meanwhile
      }
    }
  };
  // All signalled in one go (one identity read serves the stop signal and its SIGCONT), then one
  // shared poller waits for all of them.
  for (const member of found) send(member, [targets.get(member.tag)!.stopSignal, "SIGCONT"]);
  const left: number[] = [];
  const swept = await Promise.all(
    found.map(async (member): Promise<Swept> => {
      if (await waitGone(member, false, targets.get(member.tag)!.stopTimeout * 1000)) return { ...member, killed: false };
      send(member, ["SIGKILL"]);
      if (!(await waitGone(member, false, 10_000))) left.push(member.pid);
      return { ...member, killed: true };
    }),
  );
  if (left.length > 0) throw new Error(`tagged processes still alive after SIGKILL: ${left.join(", ")}`);
  return swept;
}

/**
 * The last resort of `procman stop`: every live process tagged for this state dir (what the
 * stopped processes left, a damaged or lost record, a worker that escaped its group), in one scan
 * of /proc, again until a scan finds nobody (a process may fork between the scan and its signal).
 * Only tagged processes are ever signalled; `settings` gives the stop signal of known tags.
 */
export async function stopEveryTagged(stateDir: string, settings: ReadonlyMap<string, SweepSettings> = new Map()): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const stops: Promise<unknown>[] = [];
    for (const { pid, startTime, tag } of taggedFor(stateDir)) {
      const known = settings.get(tag);
      // All at once: one shared poller waits for them.
      stops.push(terminate({ name: tagName(tag), pid, startTime, stopSignal: known?.stopSignal ?? "SIGTERM", stopTimeout: known?.stopTimeout ?? 10, tag }));
    }
    if (stops.length === 0) return;
    const failed = (await Promise.allSettled(stops)).find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}
