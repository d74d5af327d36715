// The dependency graph: activation order and layers, transitive dependents, named cycles.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  activationLayers,
  activationOrder,
  buildGraph,
  cycleIssues,
  findCycles,
  withTransitiveDependents,
} from "../../src/graph/graph.js";
import type { DependencyEdges } from "../../src/model/types.js";

/** `edges("b<a c<a,b")`: b activatesAfter a; c activatesAfter a and b; names in declaration order. */
function edges(spec: string): DependencyEdges[] {
  return spec.split(/\s+/).filter(Boolean).map((part) => {
    const [name, deps = ""] = part.split("<");
    return { name: name!, activatesAfter: deps.split(",").filter(Boolean) };
  });
}

const DIAMOND = edges("top<left,right left<base right<base base");

test("buildGraph: edges point from a dependency to its dependent", () => {
  const graph = buildGraph(edges("web<db db"));
  assert.equal(graph.nodes().sort(), ["db", "web"]);
  assert.ok(graph.hasEdge("db", "web"));
  assert.not.ok(graph.hasEdge("web", "db"));
});

test("activationOrder: dependencies before dependents", () => {
  const processes = edges("proxy<web web<db,cache cache db");
  const order = activationOrder(processes);
  assert.equal(order, ["cache", "db", "web", "proxy"]);
  for (const { name, activatesAfter } of processes) {
    for (const dependency of activatesAfter) assert.ok(order.indexOf(dependency) < order.indexOf(name), `${dependency} before ${name}`);
  }
});

test("activationLayers: a diamond has three layers", () => {
  assert.equal(activationLayers(DIAMOND), [["base"], ["left", "right"], ["top"]]);
  assert.equal(activationOrder(DIAMOND), ["base", "left", "right", "top"]);
});

test("activationLayers: declaration order within a layer", () => {
  assert.equal(activationLayers(edges("z y x")), [["z", "y", "x"]]);
  assert.equal(activationLayers(edges("top<right,left right<base left<base base")), [["base"], ["right", "left"], ["top"]]);
});

test("activationLayers: a process sits one layer after its deepest dependency", () => {
  // d depends on a (layer 0) and c (layer 2), so it is in layer 3, not layer 1.
  assert.equal(activationLayers(edges("d<a,c c<b b<a a")), [["a"], ["b"], ["c"], ["d"]]);
});

test("activationLayers: empty model, and independent processes all in one layer", () => {
  assert.equal(activationLayers([]), []);
  assert.equal(activationOrder([]), []);
  assert.equal(activationLayers(edges("a b c")), [["a", "b", "c"]]);
});

test("activationLayers throws on a cycle, naming it", () => {
  assert.throws(() => activationLayers(edges("a<b b<a")), /dependency cycle: a -> b -> a/);
});

test("withTransitiveDependents: the given processes and all that depend on them", () => {
  const processes = edges("db cache web<db,cache proxy<web worker<db monitor");
  assert.equal([...withTransitiveDependents(processes, ["db"])].sort(), ["db", "proxy", "web", "worker"]);
  assert.equal([...withTransitiveDependents(processes, ["cache"])].sort(), ["cache", "proxy", "web"]);
  assert.equal([...withTransitiveDependents(processes, ["proxy"])], ["proxy"]);
  assert.equal([...withTransitiveDependents(processes, ["monitor", "web"])].sort(), ["monitor", "proxy", "web"]);
  assert.equal([...withTransitiveDependents(processes, [])], []);
  assert.equal([...withTransitiveDependents(processes, ["unknown"])], []);
  assert.equal([...withTransitiveDependents(DIAMOND, ["base"])].sort(), ["base", "left", "right", "top"]);
});

test("findCycles: none in a DAG", () => {
  assert.equal(findCycles(DIAMOND), []);
  assert.equal(cycleIssues(DIAMOND), []);
});

test("findCycles: self loop, 2-cycle and 5-cycle as activatesAfter paths", () => {
  assert.equal(findCycles(edges("a<a")), [["a", "a"]]);
  assert.equal(findCycles(edges("a<b b<a")), [["a", "b", "a"]]);
  assert.equal(findCycles(edges("a<b b<c c<d d<e e<a")), [["a", "b", "c", "d", "e", "a"]]);
  // The path follows activatesAfter from the first declared member: here c -> a -> b -> c.
  assert.equal(findCycles(edges("c<a a<b b<c")), [["c", "a", "b", "c"]]);
});

test("findCycles: each path is a real cycle of activatesAfter edges", () => {
  const processes = edges("a<b,x b<c c<a,d d x<y y<x e<e");
  const cycles = findCycles(processes);
  assert.equal(cycles, [
    ["a", "b", "c", "a"],
    ["x", "y", "x"],
    ["e", "e"],
  ]);
  const deps = new Map(processes.map(({ name, activatesAfter }) => [name, activatesAfter]));
  for (const cycle of cycles) {
    assert.is(cycle[0], cycle.at(-1));
    for (let i = 0; i + 1 < cycle.length; i++) assert.ok(deps.get(cycle[i]!)!.includes(cycle[i + 1]!), `${cycle[i]} activatesAfter ${cycle[i + 1]}`);
  }
});

test("findCycles: the shortest way back to the start inside a component", () => {
  // a -> b -> a is shorter than a -> c -> d -> a, and both are in one component.
  assert.equal(findCycles(edges("a<c,b b<a c<d d<a")), [["a", "b", "a"]]);
});

test("cycleIssues name the first process, the field and the path", () => {
  assert.equal(cycleIssues(edges("a<b b<a c<c")), [
    { process: "a", field: "activatesAfter", message: "dependency cycle: a -> b -> a" },
    { process: "c", field: "activatesAfter", message: "dependency cycle: c -> c" },
  ]);
});

test("dependencies on unknown names are ignored by the graph (validation reports them)", () => {
  assert.equal(activationLayers(edges("a<ghost b<a")), [["a"], ["b"]]);
});

test.run();
