// Bundles the CLI (and the library entry and, once it exists, the supervisor's entry) into
// dist/bundle with esbuild: a few files instead of ~150 modules makes every command start faster.
// Code splitting keeps what only some commands use (generators, backends, YAML, the SVG renderer)
// in chunks loaded by their dynamic import. jiti and @viz-js/viz stay in node_modules: jiti loads
// its own parts lazily by path, viz carries WebAssembly.
//
// All outputs sit in one flat directory: code that finds a sibling entry from import.meta.url (the
// supervisor's client spawns main.js beside itself) finds it from any chunk. `import ... from
// "procman"` in a TS model resolves to bundle/index.js (see selfEntry in src/loader/load-model.ts).
import { build } from "esbuild";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.join(root, "dist", "bundle");
const entryPoints = ["src/cli/bin.ts", "src/index.ts", "src/supervisor/main.ts"].filter((file) => existsSync(path.join(root, file)));

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["jiti", "@viz-js/viz"],
  define: { PROCMAN_BUNDLED: "true" },
  // CommonJS dependencies call require() for Node's built-ins: give every ESM chunk one.
  banner: { js: 'import { createRequire as __procmanCreateRequire } from "node:module"; const require = __procmanCreateRequire(import.meta.url);' },
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
