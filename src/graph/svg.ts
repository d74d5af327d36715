// DOT → SVG with a WebAssembly build of Graphviz, so no Graphviz install is needed.
export async function renderSvg(dot: string): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}
