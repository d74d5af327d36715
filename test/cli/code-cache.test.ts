// The bundle's code cache (src/cli/code-cache.ts): used for the bytes it was made from, never for
// other bytes of the same length (V8 itself checks only the length), and a cache V8 cannot use
// costs nothing but the compile.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { codeCacheHeader, compileCommonJs } from "../../src/cli/code-cache.js";
import { makeTempDir } from "../helpers/tmp.js";

const moduleSource = (value: string) => `exports.value = ${JSON.stringify(value)}; exports.twice = (n) => n * 2;\n`;

function makeCache(file: string, cacheFile: string): void {
  const { script, source } = compileCommonJs(file, undefined);
  writeFileSync(cacheFile, Buffer.concat([Buffer.from(codeCacheHeader(source), "latin1"), script.createCachedData()]));
}

test("a cache made for the file is used, and the module runs", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "m.js");
  const cacheFile = `${file}.cache`;
  writeFileSync(file, moduleSource("one"));
  makeCache(file, cacheFile);
  const loaded = compileCommonJs(file, cacheFile);
  assert.is(loaded.script.cachedDataRejected, false);
  assert.is((loaded.exports as { value: string }).value, "one");
  assert.is((loaded.exports as { twice(n: number): number }).twice(21), 42);
});

test("other bytes of the same length: the cache is not handed to V8, the new code runs", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "m.js");
  const cacheFile = `${file}.cache`;
  writeFileSync(file, moduleSource("one"));
  makeCache(file, cacheFile);
  writeFileSync(file, moduleSource("two"));
  const loaded = compileCommonJs(file, cacheFile);
  assert.is(loaded.script.cachedDataRejected, undefined, "no cached data was given");
  assert.is((loaded.exports as { value: string }).value, "two");
});

test("a cache V8 cannot use, or none at all: compiled as usual", () => {
  const dir = makeTempDir();
  const file = path.join(dir, "m.js");
  const cacheFile = `${file}.cache`;
  writeFileSync(file, moduleSource("one"));
  writeFileSync(cacheFile, Buffer.concat([Buffer.from(codeCacheHeader(moduleSource("one")), "latin1"), Buffer.from("not a code cache")]));
  const rejected = compileCommonJs(file, cacheFile);
  assert.is(rejected.script.cachedDataRejected, true);
  assert.is((rejected.exports as { value: string }).value, "one");
  const none = compileCommonJs(file, path.join(dir, "missing.cache"));
  assert.is((none.exports as { value: string }).value, "one");
});

test.run();
