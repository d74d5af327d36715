// Turns (what the model declares, what really runs, what was declared before) into ordered steps,
// each with its reason as data. Pure: the executor observes the process table and carries the plan out.
import { activationOrder, withTransitiveDependents } from "../graph/graph.js";
import type { DependencyEdges, ResolvedModel, ResolvedProcess } from "../model/types.js";
import { changedFields, changedSettings } from "./changed-fields.js";
import type { PlanReason } from "./reason.js";
import { specHash } from "./spec-hash.js";

export type { PlanReason } from "./reason.js";

/** A running (or once running) process as the executor found it. */
export interface ObservedProcess {
  readonly name: string;
  readonly specHash: string;
  /** running: identity verified; dead: gone; reused: its PID now names an unrelated process. */
  readonly state: "running" | "dead" | "reused";
  /** Under another manager, the main PID it reports (unverified by procman: status looks at /proc). */
  readonly pid?: number;
}

export interface PlanStep {
  readonly name: string;
  readonly reason: PlanReason;
}

export interface Plan {
  /** Dependents before their dependencies (of the previous deployment). */
  readonly stop: readonly PlanStep[];
  /** Dependencies before dependents (of the new model). */
  readonly start: readonly PlanStep[];
  readonly keep: readonly PlanStep[];
  /** Records of processes that are gone: forgotten without any signal. */
  readonly forget: readonly PlanStep[];
  /** Edges to order the stops by: the previous deployment's (it is what runs). */
  readonly stopEdges: readonly DependencyEdges[];
}

export function planSwitch(
  desired: ResolvedModel,
  observed: ReadonlyMap<string, ObservedProcess>,
  previous: ResolvedModel | undefined,
  /** What "changed" compares: the run spec (direct) or the generated files (other managers). */
  hashOf: (spec: ResolvedProcess) => string = specHash,
): Plan {
  const before = new Map((previous?.processes ?? []).map((spec) => [spec.name, spec]));
  const wanted = new Map(desired.processes.map((spec) => [spec.name, spec]));
  const stop = new Map<string, PlanReason>();
  const start = new Map<string, PlanReason>();
  const forget: PlanStep[] = [];

  const changed = new Map<string, PlanReason>();
  for (const spec of desired.processes) {
    const seen = observed.get(spec.name);
    if (seen === undefined) continue;
    // A process that died and changed restarts its running dependents too: they ran against the old one.
    if (seen.specHash !== hashOf(spec)) changed.set(spec.name, { kind: "changed", fields: describeChange(before.get(spec.name), spec) });
  }
  const causes = changeCauses(desired.processes, [...changed.keys()]);

  for (const [name, seen] of observed) {
    if (seen.state !== "running") {
      forget.push({ name, reason: { kind: seen.state === "reused" ? "pid-reused" : "died" } });
      continue;
    }
    if (!wanted.has(name)) stop.set(name, { kind: desired.processes.length === 0 ? "stop-all" : "removed" });
    else if (changed.has(name)) stop.set(name, changed.get(name)!);
    else if (causes.has(name)) stop.set(name, { kind: "dependency-changed", causes: causes.get(name)! });
  }

  for (const spec of desired.processes) {
    const seen = observed.get(spec.name);
    if (stop.has(spec.name)) start.set(spec.name, stop.get(spec.name)!);
    else if (seen === undefined) start.set(spec.name, { kind: before.has(spec.name) ? "not-running" : "new" });
    else if (seen.state === "dead") start.set(spec.name, { kind: "died" });
    else if (seen.state === "reused") start.set(spec.name, { kind: "pid-reused" });
  }

  const keep = desired.processes
    .filter((spec) => !start.has(spec.name))
    .map((spec): PlanStep => ({ name: spec.name, reason: { kind: "unchanged" } }));

  // Stop dependents first: reverse activation order of what ran (previous model, plus leftovers).
  const stopEdges: DependencyEdges[] = [...before.values()].map(({ name, activatesAfter }) => ({ name, activatesAfter }));
  for (const name of stop.keys()) if (!before.has(name)) stopEdges.push({ name, activatesAfter: [] });
  const stopOrder = activationOrder(stopEdges).reverse().filter((name) => stop.has(name));
  const startOrder = activationOrder(desired.processes).filter((name) => start.has(name));

  return {
    stop: stopOrder.map((name) => ({ name, reason: stop.get(name)! })),
    start: startOrder.map((name) => ({ name, reason: start.get(name)! })),
    keep,
    forget,
    stopEdges: stopEdges.filter(({ name }) => stop.has(name)).map(({ name, activatesAfter }) => ({
      name,
      activatesAfter: activatesAfter.filter((dependency) => stop.has(dependency)),
    })),
  };
}

/** The model fields that differ; for a manager whose generated files changed, the other settings. */
function describeChange(before: ResolvedProcess | undefined, after: ResolvedProcess): string[] {
  if (before === undefined) return [];
  const fields = changedFields(before, after);
  return fields.length > 0 ? fields : changedSettings(before, after);
}

/** For each transitive dependent of a changed process (not itself changed): the changed roots, in model order. */
function changeCauses(processes: readonly ResolvedProcess[], roots: readonly string[]): Map<string, string[]> {
  const causes = new Map<string, string[]>();
  if (roots.length === 0) return causes;
  const rootSet = new Set(roots);
  for (const root of roots) {
    for (const name of withTransitiveDependents(processes, [root])) {
      if (rootSet.has(name)) continue;
      const list = causes.get(name);
      if (list === undefined) causes.set(name, [root]);
      else list.push(root);
    }
  }
  return causes;
}
