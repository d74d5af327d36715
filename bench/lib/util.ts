// Small helpers: sleeping, statistics, formatting, configuration from the environment.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "1.23 s (1.20–1.31)": the median, then min–max. */
export function formatSummary(summary: Summary | undefined, format: (value: number) => string = formatMs): string {
  if (summary === undefined) return "–";
  if (summary.n === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

export function formatMB(kb: number): string {
  return `${(kb / 1024).toFixed(kb < 10 * 1024 ? 1 : 0)} MB`;
}

export function formatRatio(value: number, floor: number): string {
  const ratio = value / floor;
  return `${ratio < 10 ? ratio.toFixed(2) : ratio.toFixed(1)}×`;
}

export function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(text)})`);
  return value;
}

export function envList(name: string, fallback: readonly string[]): string[] {
  const text = process.env[name];
  if (text === undefined || text.trim() === "") return [...fallback];
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

export function envInts(name: string, fallback: readonly number[]): number[] {
  return envList(name, fallback.map(String)).map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: ${JSON.stringify(item)} is not a positive integer`);
    return value;
  });
}

/** A rotation of the list by `by`: the order of the systems changes from one repetition to the next. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
