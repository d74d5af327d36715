// The graph with processes named like Object.prototype's keys: graphlib keeps nodes in plain objects.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { activationLayers, buildGraph, cycleIssues, findCycles, withTransitiveDependents } from "../../src/graph/graph.js";
import { PROTOTYPE_NAMES } from "../helpers/prototype-names.js";

test("prototype names: each is a node of its own, in one layer", () => {
  const processes = PROTOTYPE_NAMES.map((name) => ({ name, activatesAfter: [] }));
  assert.ok(PROTOTYPE_NAMES.includes("__proto__") && PROTOTYPE_NAMES.includes("constructor"));
  assert.equal(buildGraph(processes).nodes(), PROTOTYPE_NAMES);
  assert.equal(activationLayers(processes), [PROTOTYPE_NAMES]);
});

test("prototype names: a chain through them has one layer per link, and no cycle", () => {
  const processes = PROTOTYPE_NAMES.map((name, index) => ({ name, activatesAfter: index === 0 ? [] : [PROTOTYPE_NAMES[index - 1]!] }));
  assert.equal(activationLayers(processes), PROTOTYPE_NAMES.map((name) => [name]));
  assert.equal(findCycles(processes), []);
  assert.equal([...withTransitiveDependents(processes, ["constructor"])].sort(), PROTOTYPE_NAMES.slice(PROTOTYPE_NAMES.indexOf("constructor")).sort());
});

test("prototype names: an unknown one is no node, and a real cycle through them is named", () => {
  const graph = buildGraph([{ name: "web", activatesAfter: [] }]);
  assert.not.ok(graph.hasNode("constructor"));
  assert.not.ok(graph.hasNode("__proto__"));
  assert.equal(graph.successors("toString"), []);
  const cycle = [
    { name: "__proto__", activatesAfter: ["constructor"] },
    { name: "constructor", activatesAfter: ["__proto__"] },
  ];
  assert.equal(cycleIssues(cycle).map(({ message }) => message), ["dependency cycle: __proto__ -> constructor -> __proto__"]);
});

test("numeric names keep declaration order (plain-object keys would sort them first)", () => {
  assert.equal(activationLayers([{ name: "b", activatesAfter: [] }, { name: "10", activatesAfter: [] }, { name: "2", activatesAfter: [] }]), [["b", "10", "2"]]);
});

test.run();
