// The tool check itself: present → run; missing → skip with a message, or fail in CI.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findTool, haveTool } from "./tools.js";
import { makeTempDir } from "./tmp.js";

test("findTool finds an executable file on PATH, not a plain file or a directory", () => {
  const dir = makeTempDir();
  writeFileSync(path.join(dir, "tool"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "tool"), 0o755);
  writeFileSync(path.join(dir, "plain"), "");
  assert.is(findTool("tool", `/nonexistent:${dir}`), path.join(dir, "tool"));
  assert.is(findTool("plain", dir), undefined);
  assert.is(findTool(path.basename(dir), path.dirname(dir)), undefined);
  assert.is(findTool("sh", "/nonexistent:/bin:/usr/bin")?.endsWith("/sh"), true);
});

test("haveTool: present", () => {
  const messages: string[] = [];
  assert.ok(haveTool("sh", "t", { env: { CI: "true" }, searchPath: "/bin:/usr/bin", log: (m) => messages.push(m) }));
  assert.equal(messages, []);
});

test("haveTool: missing outside CI skips, saying which tool is missing", () => {
  const messages: string[] = [];
  assert.is(haveTool("no-such-tool-xyz", "my test", { env: {}, searchPath: "/bin", log: (m) => messages.push(m) }), false);
  assert.is(messages.length, 1);
  assert.match(messages[0]!, "SKIP my test: no-such-tool-xyz is not on PATH");
  assert.is(haveTool("no-such-tool-xyz", undefined, { env: { CI: "false" }, searchPath: "/bin", log: () => {} }), false);
});

test("haveTool: missing in CI fails", () => {
  assert.throws(
    () => haveTool("dot", "t", { env: { CI: "true" }, searchPath: "/nonexistent", log: () => {} }),
    (error: Error) => error.message === "dot is required in CI",
  );
});

test.run();
