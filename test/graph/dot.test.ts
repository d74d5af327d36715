// DOT output: one node per process labelled with its description, one edge per activatesAfter
// (dependency -> dependent), escaping; and the real `dot` accepts it, small or large.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderDot } from "../../src/graph/dot.js";
import { renderSvg } from "../../src/graph/svg.js";
import { dotAccepts } from "../helpers/dot.js";
import { resolve } from "../helpers/model.js";
import { haveTool } from "../helpers/tools.js";

interface Parsed {
  nodes: Map<string, string>; // name → label (DOT-escaped, as written)
  edges: [string, string][];
}

/** Reads back what renderDot writes: `"name" [label="..."];` and `"a" -> "b";` lines. */
function parse(dot: string): Parsed {
  const q = '"((?:[^"\\\\]|\\\\.)*)"';
  const nodes = new Map<string, string>();
  const edges: [string, string][] = [];
  for (const line of dot.split("\n")) {
    const node = new RegExp(`^\\s*${q} \\[label=${q}\\];$`).exec(line);
    if (node !== null) {
      assert.not.ok(nodes.has(node[1]!), `node ${node[1]} defined twice`);
      nodes.set(node[1]!, node[2]!);
      continue;
    }
    const edge = new RegExp(`^\\s*${q} -> ${q};$`).exec(line);
    if (edge !== null) edges.push([edge[1]!, edge[2]!]);
  }
  return { nodes, edges };
}

const WEBAPP = [
  { name: "db", description: "PostgreSQL", activatesAfter: [] },
  { name: "webapp", description: "Simple web application", activatesAfter: ["db"] },
  { name: "nginx", activatesAfter: ["webapp", "db"] },
];

test("one node per process, labelled with its name and description", () => {
  const { nodes } = parse(renderDot(WEBAPP));
  assert.equal(
    [...nodes.entries()].sort(),
    [
      ["db", "db\\nPostgreSQL"],
      ["nginx", "nginx"],
      ["webapp", "webapp\\nSimple web application"],
    ],
  );
});

test("one edge per activatesAfter, from the dependency to the dependent", () => {
  const { edges } = parse(renderDot(WEBAPP));
  assert.equal(edges.sort(), [
    ["db", "nginx"],
    ["db", "webapp"],
    ["webapp", "nginx"],
  ]);
});

test("it is a digraph with a title, and processes of one layer share a rank", () => {
  const dot = renderDot(WEBAPP, "my model");
  assert.match(dot, /^\/\/ my model: an edge a -> b means a is activated/);
  assert.match(dot, /\ndigraph "my model" \{\n/);
  assert.ok(dot.endsWith("}\n"));
  const ranks = [...dot.matchAll(/\{ rank=same; \/\/ layer (\d+)\n((?:    .*\n)*)  \}/g)].map((match) => [
    Number(match[1]),
    [...match[2]!.matchAll(/^    "([^"]+)"/gm)].map((node) => node[1]),
  ]);
  assert.equal(ranks, [
    [0, ["db"]],
    [1, ["webapp"]],
    [2, ["nginx"]],
  ]);
});

test("quotes, backslashes and control characters in descriptions are escaped", () => {
  const dot = renderDot([{ name: "a", description: 'say "hi" \\ C:\\new \\"', activatesAfter: [] }]);
  const { nodes } = parse(dot);
  assert.is(nodes.get("a"), 'a\\nsay \\"hi\\" \\\\ C:\\\\new \\\\\\"');
  const control = parse(renderDot([{ name: "b", description: "tab\there\r\nnext", activatesAfter: [] }]));
  assert.is(control.nodes.get("b"), "b\\ntab here\\nnext");
});

test("the resolved webapp-like model renders without descriptions as bare names", () => {
  const model = resolve({ web: { process: "x" }, proxy: { process: "y", activatesAfter: ["web"], description: "front" } });
  const { nodes, edges } = parse(renderDot(model.processes));
  assert.equal([...nodes.entries()], [
    ["web", "web"],
    ["proxy", "proxy\\nfront"],
  ]);
  assert.equal(edges, [["web", "proxy"]]);
});

/** 200 processes in layers of 20; each depends on up to three of the previous layer. */
function bigModel(): { name: string; description: string; activatesAfter: string[] }[] {
  const out: { name: string; description: string; activatesAfter: string[] }[] = [];
  for (let i = 0; i < 200; i++) {
    const layer = Math.floor(i / 20);
    const deps = layer === 0 ? [] : [0, 7, 13].map((offset) => `svc-${(layer - 1) * 20 + ((i + offset) % 20)}`);
    out.push({ name: `svc-${i}`, description: `service "${i}" \\ layer ${layer}`, activatesAfter: [...new Set(deps)] });
  }
  return out;
}

test("a 200-process model: every node and edge is there", () => {
  const processes = bigModel();
  const { nodes, edges } = parse(renderDot(processes));
  assert.is(nodes.size, 200);
  assert.is(edges.length, processes.reduce((sum, process) => sum + process.activatesAfter.length, 0));
  assert.is(edges.length, 540);
});

test("the real dot accepts a 2-process model", () => {
  if (!haveTool("dot", "dot accepts a 2-process model")) return;
  const result = dotAccepts(renderDot([...WEBAPP.slice(0, 2)]));
  assert.ok(result.ok, result.detail);
  assert.match(result.svg, "Simple web application");
});

test("the real dot accepts a 200-process model with escaped descriptions", () => {
  if (!haveTool("dot", "dot accepts a 200-process model")) return;
  const result = dotAccepts(renderDot(bigModel()));
  assert.ok(result.ok, result.detail);
  assert.is((result.svg.match(/<g id="node\d+" class="node">/g) ?? []).length, 200);
  assert.is((result.svg.match(/<g id="edge\d+" class="edge">/g) ?? []).length, 540);
  // The escaped quote and backslash come out as the original characters.
  assert.match(result.svg, "service &quot;199&quot; \\ layer 9");
});

test("the real dot reads escaped labels back as the original text", () => {
  if (!haveTool("dot", "dot reads escaped labels")) return;
  const result = dotAccepts(renderDot([{ name: "a", description: 'say "hi" \\ bye', activatesAfter: [] }]));
  assert.ok(result.ok, result.detail);
  assert.match(result.svg, ">say &quot;hi&quot; \\ bye</text>");
});

test("renderSvg (WebAssembly Graphviz) produces an <svg> without dot installed", async () => {
  const svg = await renderSvg(renderDot(WEBAPP));
  assert.match(svg, /<svg[\s>]/);
  assert.match(svg, "Simple web application");
  assert.is((svg.match(/class="node"/g) ?? []).length, 3);
  assert.is((svg.match(/class="edge"/g) ?? []).length, 3);
});

test.run();
