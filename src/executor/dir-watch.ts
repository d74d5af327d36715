// One inotify watch (fs.watch) per directory, shared by every readiness wait that looks at an entry
// of it: 500 waits on ready files in one directory make one watch, not 500, and a change wakes only
// the waits on the entry it names (a rename of `p7.tmp` to `p7` wakes p7's, not all 500). A watch
// is only a hint to look again: the waits still poll at their interval (a directory that is not
// there yet, or removed and made again, has no live watch; nor does the target of a link).
import { watch, type FSWatcher } from "node:fs";

type Wake = () => void;

interface Shared {
  readonly watcher: FSWatcher;
  /** Wakes by entry name; `undefined` holds the waits on any change in the directory. */
  readonly byName: Map<string | undefined, Set<Wake>>;
  count: number;
  /** Set while nobody subscribes: the watch is closed only if nobody does for LINGER_MS. */
  linger: NodeJS.Timeout | undefined;
}

// Between two layers of a DAG every wait on a directory may have ended for a moment: the watch
// stays a while rather than being closed and made again for the next layer.
const LINGER_MS = 1000;

const shared = new Map<string, Shared>();

export interface DirSubscription {
  close(): void;
}

/**
 * Calls `wake` when inotify reports a change to `name` in `directory` (any entry when `name` is
 * undefined, or when the kernel names none). Undefined when the directory cannot be watched now
 * (missing, not a directory, out of watches): the caller polls, and may try again later.
 */
export function watchEntry(directory: string, name: string | undefined, wake: Wake): DirSubscription | undefined {
  let entry = shared.get(directory);
  if (entry === undefined) {
    let watcher: FSWatcher;
    try {
      watcher = watch(directory, { persistent: false }, (_event, filename) => deliver(directory, filename));
    } catch {
      return undefined;
    }
    entry = { watcher, byName: new Map(), count: 0, linger: undefined };
    const created = entry;
    // The watch failed later (the directory went): every wait looks once, then polls; the next
    // subscription makes a new watch.
    watcher.on("error", () => {
      for (const wakes of created.byName.values()) for (const each of wakes) each();
      drop(directory, created);
    });
    shared.set(directory, entry);
  }
  const live = entry;
  if (live.linger !== undefined) {
    clearTimeout(live.linger);
    live.linger = undefined;
  }
  let wakes = live.byName.get(name);
  if (wakes === undefined) live.byName.set(name, (wakes = new Set()));
  // The same function may subscribe twice: each subscription is its own.
  const own: Wake = () => wake();
  wakes.add(own);
  live.count++;
  let closed = false;
  return {
    close: () => {
      if (closed) return;
      closed = true;
      const set = live.byName.get(name);
      if (set !== undefined && set.delete(own) && set.size === 0) live.byName.delete(name);
      if (--live.count === 0) {
        // Unref'd: a lingering watch never keeps procman running.
        live.linger = setTimeout(() => drop(directory, live), LINGER_MS).unref();
      }
    },
  };
}

/** How many directories have subscribers now (for tests: one per directory, none once all closed). */
export function watchedDirectoryCount(): number {
  let count = 0;
  for (const entry of shared.values()) if (entry.count > 0) count++;
  return count;
}

function deliver(directory: string, filename: string | Buffer | null): void {
  const entry = shared.get(directory);
  if (entry === undefined) return;
  if (filename === null) {
    for (const wakes of entry.byName.values()) for (const wake of wakes) wake();
    return;
  }
  const named = entry.byName.get(typeof filename === "string" ? filename : filename.toString());
  if (named !== undefined) for (const wake of named) wake();
  const any = entry.byName.get(undefined);
  if (any !== undefined) for (const wake of any) wake();
}

function drop(directory: string, entry: Shared): void {
  if (entry.linger !== undefined) clearTimeout(entry.linger);
  entry.linger = undefined;
  if (shared.get(directory) === entry) shared.delete(directory);
  entry.watcher.close();
}
