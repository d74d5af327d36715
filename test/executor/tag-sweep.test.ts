// Which state dir a tag names: everything after its second ":". A suffix test took a process of
// the state dir "/x:/a/b" for one of "/a/b" (stop and recovery would have stopped it).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tagFor, taggedForDir, tagName } from "../../src/executor/tag-sweep.js";

test("a tag belongs to exactly the state dir it was made for", () => {
  assert.ok(taggedForDir(tagFor("web", "0123abcd", "/a/b"), "/a/b"));
  assert.ok(taggedForDir(tagFor("web", "systemd", "/x:/a/b"), "/x:/a/b"));
  assert.not.ok(taggedForDir(tagFor("web", "0123abcd", "/x:/a/b"), "/a/b"), "a state dir ending in :/a/b is another");
  assert.not.ok(taggedForDir(tagFor("web", "0123abcd", "/a/b/c"), "/a/b"));
  assert.not.ok(taggedForDir("web:/a/b", "/a/b"), "malformed: no hash");
  assert.not.ok(taggedForDir("garbage", "/a/b"));
  assert.is(tagName(tagFor("web.1", "h", "/x:/y")), "web.1");
});

test.run();
