// The bundle's cli.js, compiled with V8's code cache (cli.js.cache, written by scripts/bundle.mjs
// after a warm-up of a few commands): the bytecode of what the warm-up ran is not compiled again by
// every command. Measured for `procman stop` of nothing: 14–20 ms less CPU, of about 105. What V8
// cannot use (another Node, other flags) it rejects, and the file is compiled as without a cache.
//
// V8 checks a cache against the source's length only: the cache's first line holds the length and
// CRC-32 of the cli.js it was made from, and a cache for other bytes is never handed to V8.
import { readFileSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import vm from "node:vm";
import { crc32 } from "node:zlib";

const MAGIC = "procman-code-cache";

/** The first line of a cache for this source. */
export function codeCacheHeader(source: string): string {
  return `${MAGIC} ${source.length} ${crc32(source)}\n`;
}

/** The compiled CommonJS module `file`, run; with `produce`, the code cache after `produce` ran. */
export function compileCommonJs(file: string, cacheFile: string | undefined): { exports: unknown; script: vm.Script; source: string } {
  const source = readFileSync(file, "utf8");
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cacheFile !== undefined ? { cachedData: cachedDataFor(source, cacheFile) } : {}) });
  const module = new Module(file);
  module.filename = file;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, Module.createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script, source };
}

function cachedDataFor(source: string, cacheFile: string): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined; // none: compiled as usual
  }
  const header = codeCacheHeader(source);
  const end = cache.indexOf(0x0a);
  if (end !== header.length - 1 || cache.toString("latin1", 0, end + 1) !== header) return undefined;
  return cache.subarray(end + 1);
}
