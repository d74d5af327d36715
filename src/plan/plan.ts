// Turns (what the model declares, what really runs, what was declared before) into ordered,
// printable steps. Pure: the executor observes the process table and carries the plan out.
import { activationOrder, withTransitiveDependents } from "../graph/graph.js";
import type { DependencyEdges, ResolvedModel, ResolvedProcess } from "../model/types.js";
import { changedFields, specHash } from "./spec-hash.js";

/** A running (or once running) process as the executor found it. */
export interface ObservedProcess {
  readonly name: string;
  readonly specHash: string;
  /** running: identity verified; dead: gone; reused: its PID now names an unrelated process. */
  readonly state: "running" | "dead" | "reused";
}

export interface PlanStep {
  readonly name: string;
  readonly reason: string;
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
  hashOf: (process: ResolvedProcess) => string = specHash,
): Plan {
  const before = new Map((previous?.processes ?? []).map((process) => [process.name, process]));
  const wanted = new Map(desired.processes.map((process) => [process.name, process]));
  const stop = new Map<string, string>();
  const start = new Map<string, string>();
  const forget: PlanStep[] = [];

  const changed = new Map<string, string>();
  for (const process of desired.processes) {
    const seen = observed.get(process.name);
    if (seen === undefined) continue;
    // A process that died and changed restarts its running dependents too: they ran against the old one.
    if (seen.specHash !== hashOf(process)) changed.set(process.name, describeChange(before.get(process.name), process));
  }
  const restart = withTransitiveDependents(desired.processes, changed.keys());

  for (const [name, seen] of observed) {
    if (seen.state !== "running") {
      forget.push({ name, reason: seen.state === "reused" ? "its PID now belongs to another process (left alone)" : "not running any more" });
      continue;
    }
    if (!wanted.has(name)) stop.set(name, desired.processes.length === 0 ? "stopping everything" : "removed from the model");
    else if (changed.has(name)) stop.set(name, changed.get(name)!);
    else if (restart.has(name)) stop.set(name, `restarted with what it activatesAfter (${dependencyCause(name, desired, changed)})`);
  }

  for (const process of desired.processes) {
    const seen = observed.get(process.name);
    if (stop.has(process.name)) start.set(process.name, stop.get(process.name)!);
    else if (seen === undefined) start.set(process.name, before.has(process.name) ? "was not running" : "new");
    else if (seen.state === "dead") start.set(process.name, "died; starting it again");
    else if (seen.state === "reused") start.set(process.name, "died (its PID was reused); starting it again");
  }

  const keep = desired.processes
    .filter((process) => !start.has(process.name))
    .map((process) => ({ name: process.name, reason: "unchanged and running" }));

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

function describeChange(before: ResolvedProcess | undefined, after: ResolvedProcess): string {
  if (before === undefined) return "changed";
  const fields = changedFields(before, after);
  return fields.length === 0 ? "changed (runs differently from its record)" : `changed: ${fields.join(", ")}`;
}

function dependencyCause(name: string, desired: ResolvedModel, changed: ReadonlyMap<string, string>): string {
  const causes = [...changed.keys()].filter((root) => withTransitiveDependents(desired.processes, [root]).has(name));
  return `${causes.join(", ")} changed`;
}
