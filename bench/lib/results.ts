// The measurements of one bench invocation, and their Markdown rendering.
import { formatMB, formatMs, formatRatio, formatSummary, summarize, type Summary } from "./util.js";

export interface Sample {
  readonly scenario: string;
  readonly system: string;
  readonly n: number;
  readonly metric: string;
  readonly value: number;
}

export interface Failure {
  readonly scenario: string;
  readonly system: string;
  readonly n: number;
  readonly rep: number;
  readonly message: string;
}

export class Results {
  readonly samples: Sample[] = [];
  readonly failures: Failure[] = [];
  /** Free-form facts to print under a table (e.g. what was verified). */
  readonly notes = new Map<string, string[]>();

  add(scenario: string, system: string, n: number, metric: string, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    this.samples.push({ scenario, system, n, metric, value });
  }

  values(scenario: string, system: string, n: number, metric: string): number[] {
    return this.samples
      .filter((s) => s.scenario === scenario && s.system === system && s.n === n && s.metric === metric)
      .map((s) => s.value);
  }

  summary(scenario: string, system: string, n: number, metric: string): Summary | undefined {
    return summarize(this.values(scenario, system, n, metric));
  }

  note(key: string, text: string): void {
    const list = this.notes.get(key) ?? [];
    if (!list.includes(text)) list.push(text);
    this.notes.set(key, list);
  }

  failed(scenario: string, system: string, n: number): number {
    return this.failures.filter((f) => f.scenario === scenario && f.system === system && f.n === n).length;
  }
}

export interface Column {
  readonly key: string;
  readonly label: string;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** "1.23 s (1.20–1.31) · 4.1×": median (min–max), and the ratio of the medians to the floor's. */
export function timeCell(results: Results, scenario: string, system: string, n: number, metric: string, floor?: Summary): string {
  const summary = results.summary(scenario, system, n, metric);
  const failures = results.failed(scenario, system, n);
  if (summary === undefined) return failures > 0 ? `failed (${failures}×)` : "–";
  let cell = formatSummary(summary);
  if (floor !== undefined && system !== "floor") cell += ` · **${formatRatio(summary.median, floor.median)}**`;
  if (failures > 0) cell += ` (+${failures} failed)`;
  return cell;
}

export function memoryCell(summary: Summary | undefined): string {
  return summary === undefined ? "–" : formatSummary(summary, formatMB);
}

export function verdict(value: number | undefined, limit: number): string {
  if (value === undefined) return "not measured";
  return value <= limit ? "met" : "**missed**";
}

export { formatMs, formatRatio };
