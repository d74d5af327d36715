// log: size caps in bytes or with binary units, 0 to disable, keep 1..100.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve } from "../../helpers/model.js";

const logOf = (log: unknown) => resolve({ a: ok({ log }) }).processes[0]!.log;

test("default: 10 MiB, 3 rotated files", () => {
  assert.equal(resolve({ a: ok() }).processes[0]!.log, { maxSize: 10 * 1024 * 1024, keep: 3 });
  assert.equal(logOf({}), { maxSize: 10 * 1024 * 1024, keep: 3 });
});

test("sizes: bytes, K, M, G in powers of 1024, either case; 0 disables", () => {
  assert.equal(logOf({ maxSize: 100 }), { maxSize: 100, keep: 3 });
  assert.equal(logOf({ maxSize: "100" }).maxSize, 100);
  assert.equal(logOf({ maxSize: "512K" }).maxSize, 512 * 1024);
  assert.equal(logOf({ maxSize: "10m" }).maxSize, 10 * 1024 * 1024);
  assert.equal(logOf({ maxSize: "1G", keep: 100 }), { maxSize: 1024 ** 3, keep: 100 });
  assert.equal(logOf({ maxSize: 0, keep: 1 }), { maxSize: 0, keep: 1 });
});

test("bad sizes and counts are refused, each named", () => {
  assert.equal(
    problems({
      a: ok({ log: { maxSize: "10MB" } }),
      b: ok({ log: { maxSize: -1 } }),
      c: ok({ log: { maxSize: 1.5 } }),
      d: ok({ log: { maxSize: "2048G" } }),
      e: ok({ log: { keep: 0 } }),
      f: ok({ log: { keep: 101 } }),
      g: ok({ log: { max: "1M" } }),
      h: ok({ log: "10M" }),
      i: ok({ log: { maxSize: "1e3" } }),
    }),
    [
      'a: log.maxSize: must be a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate) (got string "10MB")',
      'b: log.maxSize: must be a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate) (got number -1)',
      'c: log.maxSize: must be a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate) (got number 1.5)',
      'd: log.maxSize: must be at most 1024G (got string "2048G")',
      "e: log.keep: must be an integer at least 1 and at most 100 (got 0)",
      "f: log.keep: must be an integer at least 1 and at most 100 (got 101)",
      "g: log.max: unknown field (known: maxSize, keep)",
      'h: log: must be an object such as { maxSize: "10M", keep: 3 } (got string "10M")',
      'i: log.maxSize: must be a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate) (got string "1e3")',
    ],
  );
});

test.run();
