// A model nested thousands deep through the CLI: bad input (exit 2) naming the file and the field,
// not "internal error: Maximum call stack size exceeded".
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { procman, show } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";

test("a model nested thousands deep: exit 2 naming the file and the field", async () => {
  const home = makeTempDir();
  const file = path.join(home, "deep.json");
  const levels = 2000;
  writeFileSync(file, `{"a":{"process":"/bin/sleep","environment":${'{"x":'.repeat(levels)}1${"}".repeat(levels)}}}`);
  for (const command of [["validate", file], ["switch", file, "--state-dir", path.join(home, "state")]]) {
    const run = await procman(command, { cwd: home });
    assert.is(run.code, 2, show(run));
    assert.match(run.stderr, `${file}: "a.environment.x.x.x.x…" nests more than`, show(run));
  }
});

test.run();
