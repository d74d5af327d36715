// Summaries of V8 CPU profiles (node --cpu-prof): where the samples fell, by function (self time)
// and by source file (self and inclusive), so that "what holds procman back" has an address.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function shortUrl(url: string): string {
  if (url === "") return "(native/V8)";
  const file = url.replace(/^file:\/\//, "");
  return file.startsWith(repo) ? path.relative(repo, file) : file;
}

export interface SummaryOptions {
  readonly top: number;
  /** Also list the callers (4 frames) of this many functions with the most self time. */
  readonly callers?: number;
}

export function summarizeProfile(file: string, options: SummaryOptions): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const frame = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || "(anonymous)"} ${shortUrl(url)}${url !== "" ? `:${lineNumber + 1}` : ""}`;
  };

  const byFunction = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const fileInclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  for (const [id, us] of selfUs) {
    const key = frame(id);
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const url = shortUrl(byId.get(id)!.callFrame.url);
    fileSelf.set(url, (fileSelf.get(url) ?? 0) + us);
    const seen = new Set<string>();
    const chain: string[] = [];
    for (let current = parent.get(id); current !== undefined; current = parent.get(current)) if (chain.length < 4) chain.push(frame(current));
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const name = shortUrl(byId.get(current)!.callFrame.url);
      if (seen.has(name)) continue;
      seen.add(name);
      fileInclusive.set(name, (fileInclusive.get(name) ?? 0) + us);
    }
    const perFunction = callers.get(key) ?? new Map<string, number>();
    perFunction.set(chain.join(" ← "), (perFunction.get(chain.join(" ← ")) ?? 0) + us);
    callers.set(key, perFunction);
  }
  const ms = (us: number) => `${(us / 1000).toFixed(1).padStart(8)} ms`;
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines: string[] = [`${path.basename(file)}: ${(total / 1000).toFixed(0)} ms profiled`];
  const list = (title: string, map: Map<string, number>) => {
    lines.push("", title);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, options.top)) lines.push(`${ms(us)} ${pct(us)}  ${key}`);
  };
  list("self time by function", byFunction);
  list("inclusive time by file (each file once per stack)", fileInclusive);
  if ((options.callers ?? 0) > 0) {
    lines.push("", "callers of the functions with the most self time");
    const costliest = [...byFunction].filter(([key]) => !key.startsWith("(")).sort((a, b) => b[1] - a[1]);
    for (const [key] of costliest.slice(0, options.callers)) {
      lines.push(`  ${key}:`);
      for (const [chain, us] of [...callers.get(key)!].sort((a, b) => b[1] - a[1]).slice(0, 4)) lines.push(`  ${ms(us)}  ← ${chain}`);
    }
  }
  return lines.join("\n");
}
