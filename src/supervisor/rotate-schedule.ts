// When the supervisor looks at each log again. A fixed look every second lets a fast writer run far
// past its cap between two looks (1.4 MB/s with a 256 KiB cap: rotated files of 3.5 MB), so each
// log's next look is when its growth since the last one would reach the cap, between MIN_MS and the
// longest gap; a log that does not grow is looked at less and less often, up to that gap.
export const MIN_MS = 50;

interface Seen {
  readonly size: number;
  readonly at: number;
  /** Bytes per ms over the last gap; 0 when it did not grow. */
  readonly rate: number;
  readonly gap: number;
  readonly due: number;
}

export class RotationSchedule {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly longestMs: number) {}

  /** A log never looked at is due at once. */
  isDue(name: string, now: number): boolean {
    return (this.seen.get(name)?.due ?? 0) <= now;
  }

  /**
   * Tells what a look found: `size` before any rotation (the growth), `after` once rotated (what the
   * cap is measured from next). Returns when it is due again.
   */
  observe(name: string, now: number, size: number, after: number, maxSize: number): number {
    const last = this.seen.get(name);
    const elapsed = last === undefined ? 0 : now - last.at;
    const grown = last === undefined ? 0 : size - last.size;
    // A rotation by someone else, or a replaced file, shrinks it: no rate from that gap.
    const rate = elapsed > 0 && grown > 0 ? grown / elapsed : grown < 0 ? (last?.rate ?? 0) : 0;
    let gap: number;
    if (rate > 0) gap = (maxSize - after) / rate;
    else gap = last === undefined ? MIN_MS : last.gap * 2;
    gap = Math.min(this.longestMs, Math.max(MIN_MS, gap));
    const due = now + gap;
    this.seen.set(name, { size: after, at: now, rate, gap, due });
    return due;
  }

  forget(name: string): void {
    this.seen.delete(name);
  }

  /** Ms until the earliest look (the longest gap when nothing is known). */
  nextIn(now: number): number {
    let earliest = now + this.longestMs;
    for (const seen of this.seen.values()) earliest = Math.min(earliest, seen.due);
    return Math.min(this.longestMs, Math.max(MIN_MS, earliest - now));
  }
}
