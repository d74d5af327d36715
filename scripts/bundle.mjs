// Bundles the CLI and the library entry into dist/bundle with esbuild: a few files instead of ~150
// modules makes every command start faster. Code splitting keeps what only some commands use
// (generators, backends, YAML, the SVG renderer) in chunks loaded by their dynamic import. jiti and
// @viz-js/viz stay in node_modules: jiti loads its own parts lazily by path, viz carries WebAssembly.
//
// The supervisor is resident, so what counts for it is memory, not start-up: its entry is bundled
// on its own into one CommonJS file, supervisor.cjs, holding only what it runs. Measured at N = 500
// (bench/supervisor-memory.ts), one CJS file costs about 6 MB less RSS than the same code as ESM
// chunks shared with the CLI (Node's ESM loader, and a module record per chunk).
//
// All outputs sit in one flat directory: code that finds a sibling entry from import.meta.url (the
// supervisor's client spawns main.js beside itself) finds it from any chunk. `import ... from
// "procman"` in a TS model resolves to bundle/index.js (see selfEntry in src/loader/load-model.ts).
import { build } from "esbuild";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, "dist", "bundle");
const entryPoints = ["src/cli/bin.ts", "src/index.ts"];
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  define: { PROCMAN_BUNDLED: "true" },
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
};

rmSync(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints,
  outdir,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  format: "esm",
  external: ["jiti", "@viz-js/viz"],
  // CommonJS dependencies call require() for Node's built-ins: give every ESM chunk one.
  banner: { js: 'import { createRequire as __procmanCreateRequire } from "node:module"; const require = __procmanCreateRequire(import.meta.url);' },
});
// startSupervisor (src/supervisor/client.ts) runs this file when it runs from the bundle. It must
// not reach the CLI's dependencies (commander, yaml, jiti, generators): the build fails if it does.
const supervisor = await build({
  ...common,
  entryPoints: ["src/supervisor/main.ts"],
  outfile: path.join(outdir, "supervisor.cjs"),
  format: "cjs",
  metafile: true,
});
const strays = Object.keys(supervisor.metafile.inputs).filter((input) => input.includes("node_modules") || /^(src\/)?(cli|loader|generators)\//.test(input));
if (strays.length > 0) throw new Error(`the supervisor's bundle reaches code it does not run: ${strays.join(", ")}`);
