// Hundreds of readiness waits of one switch share one AbortSignal (the scheduler's). An
// addEventListener each would walk the signal's listener list on every add and remove, and Node
// warns past 10 listeners ("Possible EventTarget memory leak"); here each signal gets one listener,
// and the waits a set of callbacks behind it.
const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` once when `signal` aborts; returns the undo (call it when the wait ends). */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    // An aborted signal fires no more events: called in the next microtask, as the others were.
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) callback();
    });
    return () => {
      cancelled = true;
    };
  }
  let set = callbacks.get(signal);
  if (set === undefined) {
    const created = new Set<() => void>();
    set = created;
    callbacks.set(signal, created);
    signal.addEventListener(
      "abort",
      () => {
        callbacks.delete(signal);
        for (const each of created) each();
      },
      { once: true },
    );
  }
  // Its own entry: the same function may wait twice.
  const entry = () => callback();
  set.add(entry);
  const live = set;
  return () => {
    live.delete(entry);
  };
}
