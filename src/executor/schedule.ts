// Runs an action per node as soon as the nodes it waits for have finished; independent nodes run
// in parallel. On the first failure nothing new starts and the signal given to the in-flight ones
// is aborted (so a readiness wait gives up at once instead of running out its timeout); once they
// have settled, it throws the first error.

export async function runAsReady(
  names: readonly string[],
  waitsFor: (name: string) => readonly string[],
  action: (name: string, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  const pending = new Set(names);
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: { error: unknown } | undefined;

  const eligible = (name: string) => waitsFor(name).every((other) => done.has(other) || !pending.has(other) && !running.has(other));
  for (;;) {
    if (failure === undefined) {
      for (const name of [...pending]) {
        if (!eligible(name)) continue;
        pending.delete(name);
        running.set(
          name,
          action(name, abort.signal).then(
            () => {
              done.add(name);
              running.delete(name);
            },
            (error: unknown) => {
              failure ??= { error };
              abort.abort();
              running.delete(name);
            },
          ),
        );
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure !== undefined) throw failure.error;
  if (pending.size > 0) throw new Error(`could not order: ${[...pending].join(", ")} wait for each other`);
}
