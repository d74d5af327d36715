// The helpers that read what a test's processes wrote: an empty or unfinished file is no answer.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lineIn, stampIn } from "./processes.js";
import { makeTempDir } from "./tmp.js";

test("lineIn and stampIn wait past an empty and an unfinished file for the whole line", async () => {
  const file = path.join(makeTempDir("procman-lines-"), "stamp");
  writeFileSync(file, "");
  // As a shell's `date +%s%N > file`: created empty, then the digits, the newline last.
  setTimeout(() => writeFileSync(file, "1764"), 30);
  setTimeout(() => writeFileSync(file, "1764000000000000000\n"), 60);
  assert.is(await stampIn(file, 5_000), 1764000000000000000n);
  assert.is(await lineIn(file, 5_000), "1764000000000000000");
});

test("lineIn gives up at its deadline, naming the file; stampIn refuses a line that is no timestamp", async () => {
  const dir = makeTempDir("procman-lines-");
  const empty = path.join(dir, "empty");
  writeFileSync(empty, "");
  await lineIn(empty, 100).then(
    () => assert.unreachable("an empty file gave a line"),
    (error: Error) => assert.match(error.message, empty),
  );
  const word = path.join(dir, "word");
  writeFileSync(word, "ready\n");
  await stampIn(word, 100).then(
    () => assert.unreachable("a word gave a timestamp"),
    (error: Error) => assert.match(error.message, "not a timestamp"),
  );
});

test.run();
