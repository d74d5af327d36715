// Graphviz DOT of a processes model. Pure: returns a string.
// Edges follow activation: `a -> b` means a is activated first (b activatesAfter a). Processes of one
// layer (same dependency depth) share a rank, so layers read left to right however large the model.
import { activationLayers } from "./graph.js";

export interface DotProcess {
  readonly name: string;
  readonly description?: string | undefined;
  readonly activatesAfter: readonly string[];
}

export function renderDot(processes: readonly DotProcess[], title = "procman"): string {
  const lines = [
    `// ${title}: an edge a -> b means a is activated (and ready) before b starts.`,
    `digraph ${quote(title)} {`,
    '  graph [rankdir=LR, nodesep=0.2, ranksep=0.6, fontname="Helvetica"];',
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    "  edge [arrowsize=0.7];",
  ];
  activationLayers(processes).forEach((layer, depth) => {
    lines.push(`  { rank=same; // layer ${depth}`);
    for (const name of layer) {
      const process = processes.find((candidate) => candidate.name === name)!;
      const label = process.description === undefined ? name : `${name}\n${process.description}`;
      lines.push(`    ${quote(name)} [label=${quote(label)}];`);
    }
    lines.push("  }");
  });
  for (const process of processes) {
    for (const dependency of process.activatesAfter) lines.push(`  ${quote(dependency)} -> ${quote(process.name)};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** A DOT double-quoted string; in labels `\n` is a centred line break, other escapes are literal. */
function quote(text: string): string {
  const escaped = text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r?\n/g, "\\n")
    .replace(/[\u0000-\u001f\u007f]/g, " ");
  return `"${escaped}"`;
}
