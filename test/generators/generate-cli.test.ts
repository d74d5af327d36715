// procman generate --out DIR, run twice as a user would: the record of what it wrote
// (.procman-generated.json) lets the second run remove what is no longer generated — only files it
// wrote and nobody changed since — and every run says what to do next. --prefix and
// --systemd-version reach the generators; bad values exit 2 and write nothing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { procman, show } from "../helpers/cli.js";
import { makeTempDir } from "../helpers/tmp.js";

const MANIFEST = ".procman-generated.json";

function modelFile(dir: string, names: readonly string[]): string {
  const file = path.join(dir, "processes.json");
  const model: Record<string, unknown> = {};
  for (const name of names) model[name] = { process: "/bin/sleep", args: ["1000"] };
  writeFileSync(file, JSON.stringify(model));
  return file;
}

interface Manifest {
  version: number;
  manager: string;
  files: Record<string, { sha256: string } | { symlink: string }>;
}

const readManifest = (out: string) => JSON.parse(readFileSync(path.join(out, MANIFEST), "utf8")) as Manifest;

test("the record lists every written file with its hash; a second run removes the files of a removed process only", async () => {
  const dir = makeTempDir("procman-generate-");
  const out = path.join(dir, "out");
  const state = path.join(dir, "state");
  const first = await procman(["generate", modelFile(dir, ["a", "b"]), "-P", "systemd", "--out", out, "--state-dir", state]);
  assert.is(first.code, 0, show(first));
  const manifest = readManifest(out);
  assert.is(manifest.manager, "systemd");
  const written = readdirSync(out).filter((name) => name !== MANIFEST).sort();
  assert.equal(Object.keys(manifest.files).sort(), written);
  for (const [name, recorded] of Object.entries(manifest.files)) {
    assert.ok("sha256" in recorded, name);
    assert.is((recorded as { sha256: string }).sha256, createHash("sha256").update(readFileSync(path.join(out, name))).digest("hex"), name);
  }
  assert.match(first.stderr, "next steps:\n  1. ");
  assert.match(first.stderr, "systemctl start procman.target");

  // A file of the user's own in the directory: never procman's to remove.
  writeFileSync(path.join(out, "notes.txt"), "mine");
  const second = await procman(["generate", modelFile(dir, ["a"]), "-P", "systemd", "--out", out, "--state-dir", state]);
  assert.is(second.code, 0, show(second));
  assert.match(second.stdout, "removed 2 no longer generated");
  assert.not.ok(existsSync(path.join(out, "procman-b.service")));
  assert.not.ok(existsSync(path.join(out, "procman-b.env")));
  assert.ok(existsSync(path.join(out, "procman-a.service")));
  assert.is(readFileSync(path.join(out, "notes.txt"), "utf8"), "mine");
  assert.not.ok("procman-b.service" in readManifest(out).files);
});

test("a file changed by hand since it was written is left alone, with a warning; so is a path outside the directory", async () => {
  const dir = makeTempDir("procman-generate-");
  const out = path.join(dir, "out");
  const state = path.join(dir, "state");
  assert.is((await procman(["generate", modelFile(dir, ["a", "b"]), "-P", "sysvinit", "--out", out, "--state-dir", state])).code, 0);
  writeFileSync(path.join(out, "init.d", "procman-b"), "#!/bin/sh\n# edited by hand\n");
  // An edited record naming a file outside --out, with the right hash: still never removed.
  const outside = path.join(dir, "outside.txt");
  writeFileSync(outside, "x");
  const manifest = readManifest(out);
  manifest.files["../outside.txt"] = { sha256: createHash("sha256").update("x").digest("hex") };
  writeFileSync(path.join(out, MANIFEST), JSON.stringify(manifest));
  const second = await procman(["generate", modelFile(dir, ["a"]), "-P", "sysvinit", "--out", out, "--state-dir", state]);
  assert.is(second.code, 0, show(second));
  assert.ok(existsSync(path.join(out, "init.d", "procman-b")), "the edited script stays");
  assert.match(second.stderr, `warning: ${path.join(out, "init.d", "procman-b")} is no longer generated but was changed since procman wrote it; left alone`);
  assert.ok(existsSync(outside));
  assert.match(second.stderr, '"../outside.txt", outside');
  // The unchanged links of b are removed (they are recorded as links).
  assert.equal(readdirSync(path.join(out, "rc.d")).filter((link) => link.includes("procman-b")), []);
  assert.ok(lstatSync(path.join(out, "rc.d", "S01procman-a")).isSymbolicLink());
});

test("a record that is not procman's removes nothing", async () => {
  const dir = makeTempDir("procman-generate-");
  const out = path.join(dir, "out");
  const state = path.join(dir, "state");
  assert.is((await procman(["generate", modelFile(dir, ["a", "b"]), "-P", "launchd", "--out", out, "--state-dir", state])).code, 0);
  writeFileSync(path.join(out, MANIFEST), "{ not json");
  const second = await procman(["generate", modelFile(dir, ["a"]), "-P", "launchd", "--out", out, "--state-dir", state]);
  assert.is(second.code, 0, show(second));
  assert.match(second.stderr, "is not a record procman wrote; no old file is removed");
  assert.ok(existsSync(path.join(out, "org.procman.b.plist")));
  assert.is(readManifest(out).version, 1, "a new record is written");
});

test("--prefix and --systemd-version reach the generator; bad values exit 2 and write nothing", async () => {
  const dir = makeTempDir("procman-generate-");
  const out = path.join(dir, "out");
  const state = path.join(dir, "state");
  const file = modelFile(dir, ["a"]);
  const result = await procman(["generate", file, "-P", "systemd", "--out", out, "--state-dir", state, "--prefix", "shop", "--systemd-version", "254"]);
  assert.is(result.code, 0, show(result));
  const unit = readFileSync(path.join(out, "shop-a.service"), "utf8");
  assert.match(unit, "RestartSteps=5");
  assert.match(unit, "RestartMaxDelaySec=30");
  assert.match(unit, "Requires=shop-dirs.service");
  assert.ok(existsSync(path.join(out, "shop.target")));
  const supervisord = await procman(["generate", file, "-P", "supervisord", "--out", path.join(dir, "sup"), "--state-dir", state, "--prefix", "shop"]);
  assert.is(supervisord.code, 0, show(supervisord));
  assert.match(readFileSync(path.join(dir, "sup", "conf.d", "shop.conf"), "utf8"), "[group:shop]");
  for (const bad of [["--prefix", "a b"], ["--systemd-version", "new"]]) {
    const empty = path.join(dir, `bad-${bad[0]!.slice(2)}`);
    const refused = await procman(["generate", file, "-P", "systemd", "--out", empty, "--state-dir", state, ...bad]);
    assert.is(refused.code, 2, show(refused));
    assert.not.ok(existsSync(empty), "nothing written");
  }
});

// Node's recursive mkdir loops for ever below /proc (mkdir there answers ENOENT for a parent that
// exists): procman makes each level itself and names the one it cannot make.
test("--out below /proc: exit 1 naming the directory, at once", async () => {
  const dir = makeTempDir();
  const result = await procman(["generate", modelFile(dir, ["a"]), "-P", "systemd", "--out", "/proc/procman-nope/units"], { timeoutMs: 15_000 });
  assert.is(result.code, 1, show(result));
  assert.match(result.stderr, "cannot create /proc/procman-nope");
});

// A review: a hand-written file at a generated path was replaced without a word, a directory
// there was an "internal error", and --out inside procman's records was accepted.
test("what is in the way and not procman's fails the run (exit 1) before anything is written; --out in the records is exit 2", async () => {
  const dir = makeTempDir("procman-generate-");
  const out = path.join(dir, "out");
  const state = path.join(dir, "state");
  const model = modelFile(dir, ["a"]);
  mkdirSync(path.join(out, "procman-a.service"), { recursive: true });
  const blocked = await procman(["generate", model, "-P", "systemd", "--out", out, "--state-dir", state]);
  assert.is(blocked.code, 1, show(blocked));
  assert.match(blocked.stderr, `cannot write ${out}/procman-a.service: a directory is there`);
  assert.equal(readdirSync(out), ["procman-a.service"], "nothing written");
  rmSync(path.join(out, "procman-a.service"), { recursive: true });

  writeFileSync(path.join(out, "procman-a.service"), "[Service]\nExecStart=/usr/bin/mine\n");
  const mine = await procman(["generate", model, "-P", "systemd", "--out", out, "--state-dir", state]);
  assert.is(mine.code, 1, show(mine));
  assert.match(mine.stderr, "a file procman did not write is there");
  assert.is(readFileSync(path.join(out, "procman-a.service"), "utf8"), "[Service]\nExecStart=/usr/bin/mine\n", "the user's file is kept");
  assert.equal(readdirSync(out), ["procman-a.service"], "nothing written");

  // procman's own files, even without the record (removed), are replaced.
  rmSync(path.join(out, "procman-a.service"));
  assert.is((await procman(["generate", model, "-P", "systemd", "--out", out, "--state-dir", state])).code, 0);
  rmSync(path.join(out, MANIFEST));
  const again = await procman(["generate", modelFile(dir, ["a", "b"]), "-P", "systemd", "--out", out, "--state-dir", state]);
  assert.is(again.code, 0, show(again));

  const records = await procman(["generate", model, "-P", "systemd", "--out", path.join(state, "lib", "procman", "units"), "--state-dir", state]);
  assert.is(records.code, 2, show(records));
  assert.match(records.stderr, "is inside procman's own records");
  assert.not.ok(existsSync(path.join(state, "lib")), "nothing made there");
});

test.run();
