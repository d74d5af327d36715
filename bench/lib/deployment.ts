// What one benchmark run deploys: N fixture processes, each with a unique marker in its argv,
// either independent or as a DAG in layers, and everything under the run's own temp dir.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export interface ProcSpec {
  /** p0, p1, … (the name in every manager). */
  readonly name: string;
  /** [fixture, marker, …]: the exact command line expected in /proc. */
  readonly argv: readonly string[];
  readonly layer: number;
  /** Index of the process it depends on (DAG only). */
  readonly dependency?: number;
  /** DAG only: created by the fixture 100 ms after its start, removed when it stops. */
  readonly readyFile?: string;
  /** DAG only: the fixture's start time and its dependency's ready time. */
  readonly recordFile?: string;
}

export interface Deployment {
  /** e.g. "s1-procman-500-r0". */
  readonly id: string;
  readonly dir: string;
  readonly procs: readonly ProcSpec[];
  /** The DAG's readiness poll interval (s); independent processes have no readiness. */
  readonly interval?: number;
}

/** N independent long-running processes: `fixture <marker>`. */
export function independentProcs(fixture: string, tag: string, n: number): ProcSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `p${i}`, argv: [fixture, `${tag}.${i}`], layer: 0 }));
}

/**
 * N processes in `layers` layers of (about) equal size; process j of layer l > 0 depends on
 * process j mod |l-1| of layer l-1. Each fixture becomes ready `delayMs` after its start.
 */
export function dagProcs(fixture: string, tag: string, dir: string, n: number, layers: number, delayMs: number): ProcSpec[] {
  const layerOf = (i: number) => Math.floor((i * layers) / n);
  const members: number[][] = Array.from({ length: layers }, () => []);
  for (let i = 0; i < n; i++) members[layerOf(i)]!.push(i);
  return Array.from({ length: n }, (_, i) => {
    const layer = layerOf(i);
    const position = members[layer]!.indexOf(i);
    const previous = layer > 0 ? members[layer - 1]! : [];
    const dependency = layer > 0 && previous.length > 0 ? previous[position % previous.length]! : undefined;
    const readyFile = path.join(dir, "ready", `p${i}`);
    const recordFile = path.join(dir, "record", `p${i}`);
    const dependencyReady = dependency === undefined ? "-" : path.join(dir, "ready", `p${dependency}`);
    return {
      name: `p${i}`,
      argv: [fixture, `${tag}.${i}`, readyFile, String(delayMs), dependencyReady, recordFile],
      layer,
      ...(dependency !== undefined ? { dependency } : {}),
      readyFile,
      recordFile,
    };
  });
}

export function expectedArgv(procs: readonly ProcSpec[]): Map<string, readonly string[]> {
  return new Map(procs.map((proc) => [proc.argv[1]!, proc.argv]));
}

export function missingReadyFiles(procs: readonly ProcSpec[]): number {
  return procs.filter((proc) => proc.readyFile !== undefined && !existsSync(proc.readyFile)).length;
}

export interface OrderReport {
  /** Processes with a dependency that started before it was ready. */
  readonly violations: number;
  /** Processes with a dependency. */
  readonly edges: number;
  /** Per edge honoured: dependency ready → dependent started, in ms. */
  readonly latenciesMs: number[];
}

/** Reads the fixtures' records: who started before their dependency was ready. */
export function orderReport(procs: readonly ProcSpec[]): OrderReport {
  let violations = 0;
  let edges = 0;
  const latenciesMs: number[] = [];
  for (const proc of procs) {
    if (proc.dependency === undefined || proc.recordFile === undefined) continue;
    edges++;
    const [start, dependencyReady] = readFileSync(proc.recordFile, "utf8").trim().split(" ").map(Number);
    if (dependencyReady === undefined || start === undefined || dependencyReady < 0) violations++;
    else latenciesMs.push((start - dependencyReady) / 1e6);
  }
  return { violations, edges, latenciesMs };
}
