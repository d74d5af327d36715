// Bundles the CLI and the library entry into dist/bundle with esbuild, as CommonJS files
// (dist/bundle/package.json says "commonjs"; the package itself is "module"):
//
//   bin.js         the entry (package.json's bin): `--version` alone, else it loads cli.js
//   cli.js         every command (src/cli/main.ts and what it reaches)
//   cli.js.cache   V8's code cache for cli.js (src/cli/code-cache.ts)
//   yaml.js,       two large dependencies, each used by one module (YAML models; the other
//   execa.js       managers' tools), required only when that runs
//   index.js       the library entry
//   supervisor.cjs the resident supervisor
//
// Every command pays its start-up. Node links the ~30 chunks of a code-split ESM build slower than
// it compiles one CommonJS file, and V8 only pre-parses the functions a command does not run, so
// what costs is the bytes parsed: measured for `procman stop --help` and a stop of nothing (CPU
// time, medians of 21 interleaved runs, in three runs on a loaded machine), 10–40 ms less than the
// code-split ESM build. Each command's module is evaluated only when it runs (main.ts imports
// them lazily, esbuild keeps such modules uninitialised until then). A third-party package may be its own file: it holds none of
// procman's classes (an `instanceof ProcmanError` must see one copy of errors.ts, so procman's own
// modules are never split across files). jiti and @viz-js/viz stay in node_modules (both have a
// CommonJS entry): jiti loads its own parts lazily by path, viz carries WebAssembly.
//
// The supervisor is resident, so what counts for it is memory, not start-up: its entry is bundled
// on its own into one CommonJS file, supervisor.cjs, holding only what it runs. Measured at N = 500
// (bench/supervisor-memory.ts), one CJS file costs about 6 MB less RSS than the same code as ESM
// chunks shared with the CLI (Node's ESM loader, and a module record per chunk).
//
// All outputs sit in one flat directory: code that finds a sibling entry from import.meta.url (the
// supervisor's client spawns supervisor.cjs beside itself) finds it from any of them. `import ...
// from "procman"` in a TS model resolves to bundle/index.js (see selfEntry in
// src/loader/load-model.ts): its functions hold no state, so a model's copy behaves as the CLI's.
import { build } from "esbuild";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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
mkdirSync(outdir, { recursive: true });
writeFileSync(path.join(outdir, "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);
const cjs = {
  ...common,
  format: "cjs",
  // import.meta in CommonJS: the file's own URL (url and resolve, all the code reads).
  define: { ...common.define, "import.meta.url": "importMetaUrl", "import.meta.resolve": "importMetaResolve" },
  inject: ["scripts/import-meta-cjs.js"],
  // import() becomes require(): no ESM loader, no export scan of the file.
  supported: { "dynamic-import": false },
};
/** Resolves these imports to sibling files of the bundle instead of bundling them. */
const siblings = (files) => ({
  name: "siblings",
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(files).map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})$`);
    build.onResolve({ filter }, (args) => ({ path: `./${files[args.path]}`, external: true }));
  },
});
const externals = ["jiti", "@viz-js/viz"];
await build({ ...cjs, entryPoints: ["src/cli/bin.ts"], outfile: path.join(outdir, "bin.js"), plugins: [siblings({ "./main.js": "cli.js" })] });
chmodSync(path.join(outdir, "bin.js"), 0o755);
const cli = await build({
  ...cjs,
  entryPoints: ["src/cli/main.ts"],
  outfile: path.join(outdir, "cli.js"),
  external: externals,
  plugins: [siblings({ yaml: "yaml.js", execa: "execa.js" })],
  metafile: true,
});
for (const name of ["yaml", "execa"]) {
  await build({ ...cjs, stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root }, outfile: path.join(outdir, `${name}.js`) });
}
await build({ ...cjs, entryPoints: ["src/index.ts"], outfile: path.join(outdir, "index.js") });
await writeCodeCache(path.join(outdir, "cli.js"), path.join(outdir, "cli.js.cache"));
// bin.js holds the version check, the close of inherited descriptors and the loader of cli.js
// only: everything else is cli.js's.
const binInputs = Object.keys((await build({ ...cjs, entryPoints: ["src/cli/bin.ts"], write: false, metafile: true, plugins: [siblings({ "./main.js": "cli.js" })] })).metafile.inputs);
if (binInputs.some((input) => !/^(src\/cli\/(bin|version|code-cache)\.ts|src\/executor\/inherited-fds\.ts|scripts\/import-meta-cjs\.js)$/.test(input))) throw new Error(`bin.js reaches more than the version check: ${binInputs.join(", ")}`);
if (Object.keys(cli.metafile.inputs).some((input) => /node_modules\/(yaml|execa)\//.test(input))) throw new Error("cli.js bundles yaml or execa: they are files of their own");
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

/**
 * V8's code cache for cli.js (loaded by src/cli/code-cache.ts): compiled here, then a few commands
 * run in this process against a scratch state dir (help, validate, a dry-run switch, status and
 * a stop of nothing), so that the cache holds the bytecode of what every command runs.
 */
async function writeCodeCache(file, cacheFile) {
  const { codeCacheHeader, compileCommonJs } = await import(pathToFileURL(path.join(root, "dist", "src", "cli", "code-cache.js")).href);
  const { exports, script, source } = compileCommonJs(file, undefined);
  const scratch = mkdtempSync(path.join(os.tmpdir(), "procman-code-cache-"));
  try {
    const model = path.join(scratch, "model.json");
    writeFileSync(model, JSON.stringify({ warm: { process: "/bin/true", restart: "no" } }));
    const state = ["--state-dir", path.join(scratch, "state")];
    const silent = { out: () => undefined, err: () => undefined, colour: false };
    for (const argv of [["--help"], ["stop", "--help"], ["validate", model], ["switch", "--dry-run", model, ...state], ["status", ...state], ["status", "--json", ...state], ["stop", ...state]]) {
      await exports.runMain(argv, silent);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(cacheFile, Buffer.concat([Buffer.from(codeCacheHeader(source), "latin1"), script.createCachedData()]));
}
