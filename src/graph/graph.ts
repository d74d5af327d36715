// The dependency graph: edges point from a process to what depends on it (activation direction).
import { Graph } from "@dagrejs/graphlib";
import type { ModelIssue } from "../errors.js";
import type { DependencyEdges } from "../model/types.js";

/**
 * graphlib keeps nodes as keys of plain objects, where a process called "constructor" or
 * "__proto__" would find Object.prototype's members (and "1" would sort before "b"): inside, each
 * name is a node id behind a prefix that no such key has, and only names come out.
 */
export class DependencyGraph {
  private readonly graph = new Graph({ directed: true });

  constructor(processes: readonly DependencyEdges[]) {
    for (const { name } of processes) this.graph.setNode(id(name));
    for (const { name, activatesAfter } of processes) {
      for (const dependency of activatesAfter) {
        if (this.hasNode(dependency)) this.graph.setEdge(id(dependency), id(name));
      }
    }
  }

  nodes(): string[] {
    return this.graph.nodes().map(nameOf);
  }

  nodeCount(): number {
    return this.graph.nodeCount();
  }

  hasNode(name: string): boolean {
    return this.graph.hasNode(id(name));
  }

  hasEdge(from: string, to: string): boolean {
    return this.graph.hasEdge(id(from), id(to));
  }

  /** What `name` activatesAfter; empty for an unknown name. */
  predecessors(name: string): string[] {
    return (this.graph.predecessors(id(name)) ?? []).map(nameOf);
  }

  /** What activatesAfter `name`; empty for an unknown name. */
  successors(name: string): string[] {
    return (this.graph.successors(id(name)) ?? []).map(nameOf);
  }
}

const id = (name: string) => `#${name}`;
const nameOf = (node: string) => node.slice(1);

export function buildGraph(processes: readonly DependencyEdges[]): DependencyGraph {
  return new DependencyGraph(processes);
}

/**
 * Every cycle, one per strongly connected component, as the path of activatesAfter it follows:
 * ["a", "b", "a"] means a activatesAfter b and b activatesAfter a. graphlib's own CycleException
 * names nothing, so the path is found here.
 */
export function findCycles(processes: readonly DependencyEdges[]): string[][] {
  const graph = buildGraph(processes);
  const order = new Map(processes.map(({ name }, index) => [name, index]));
  const byOrder = (a: string, b: string) => (order.get(a) ?? 0) - (order.get(b) ?? 0);
  const cycles: string[][] = [];
  for (const component of stronglyConnected(graph)) {
    const members = new Set(component);
    const start = [...component].sort(byOrder)[0]!;
    if (component.length === 1 && !graph.hasEdge(start, start)) continue;
    // Breadth-first along activatesAfter (graph predecessors) inside the component, back to start.
    const previous = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    while (queue.length > 0 && last === undefined) {
      const node = queue.shift()!;
      for (const next of graph.predecessors(node).sort(byOrder)) {
        if (next === start) {
          last = node;
          break;
        }
        if (members.has(next) && !previous.has(next)) {
          previous.set(next, node);
          queue.push(next);
        }
      }
    }
    const path = [start];
    const tail: string[] = [];
    for (let node = last; node !== undefined && node !== start; node = previous.get(node)) tail.unshift(node);
    cycles.push([...path, ...tail, start]);
  }
  return cycles.sort((a, b) => byOrder(a[0]!, b[0]!));
}

export function cycleIssues(processes: readonly DependencyEdges[]): ModelIssue[] {
  return findCycles(processes).map((cycle) => ({
    process: cycle[0]!,
    field: "activatesAfter",
    message: `dependency cycle: ${cycle.join(" -> ")}`,
  }));
}

/**
 * The sets that may start in parallel: layer k holds the processes whose longest chain of
 * dependencies has length k. Within a layer, declaration order. Throws on a cycle.
 */
export function activationLayers(processes: readonly DependencyEdges[]): string[][] {
  const graph = buildGraph(processes);
  // Kahn's algorithm: iterative, so a chain of any length is fine (graphlib's topsort and tarjan
  // recurse once per node and overflow the stack on long chains).
  const waiting = new Map(graph.nodes().map((name) => [name, graph.predecessors(name).length]));
  const depth = new Map<string, number>();
  const queue = graph.nodes().filter((name) => waiting.get(name) === 0);
  for (const name of queue) depth.set(name, 0);
  for (let index = 0; index < queue.length; index++) {
    const name = queue[index]!;
    for (const next of graph.successors(name)) {
      depth.set(next, Math.max(depth.get(next) ?? 0, depth.get(name)! + 1));
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  if (queue.length < graph.nodeCount()) {
    const cycle = findCycles(processes)[0] ?? [];
    throw new Error(`dependency cycle: ${cycle.join(" -> ")}`);
  }
  const layers: string[][] = [];
  for (const { name } of processes) (layers[depth.get(name)!] ??= []).push(name);
  return layers;
}

/** Dependencies before dependents. */
export function activationOrder(processes: readonly DependencyEdges[]): string[] {
  return activationLayers(processes).flat();
}

/** The given processes and everything that depends on them, directly or not. */
export function withTransitiveDependents(processes: readonly DependencyEdges[], names: Iterable<string>): Set<string> {
  const graph = buildGraph(processes);
  const out = new Set<string>();
  const stack = [...names].filter((name) => graph.hasNode(name));
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (out.has(name)) continue;
    out.add(name);
    stack.push(...graph.successors(name));
  }
  return out;
}

/** Tarjan's strongly connected components, iteratively (no recursion, however long the chains). */
function stronglyConnected(graph: DependencyGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of graph.nodes()) {
    if (index.has(root)) continue;
    const work: { node: string; next: string[] }[] = [];
    const enter = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, next: graph.successors(node) });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const child = frame.next.pop();
      if (child !== undefined) {
        if (!index.has(child)) enter(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
