// specHash's cache and the hashes a generation stores: an unchanged spec takes the stored hash, a
// changed one is hashed again, and a stored value that is not a hash is ignored.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { adoptSpecHashes, specHash } from "../../src/plan/spec-hash.js";
import { resolve } from "../helpers/model.js";

const model = (args: string[]) => resolve({ web: { process: "/bin/sleep", args }, db: { process: "/bin/sleep", args: ["1"] } });

test("a JSON-equal spec takes the stored hash; a changed spec is hashed as usual", () => {
  const stored = model(["100"]).processes;
  const fresh = model(["100"]).processes;
  const changed = model(["200"]).processes;
  const web = (specs: typeof stored) => specs.find((spec) => spec.name === "web")!;
  // A made-up stored hash shows which hash is taken (a real one equals the computed one).
  const hashes = { web: "f".repeat(32), db: specHash(stored.find((spec) => spec.name === "db")!) };
  adoptSpecHashes(stored, hashes, fresh);
  assert.is(specHash(web(fresh)), "f".repeat(32));
  adoptSpecHashes(stored, hashes, changed);
  assert.is.not(specHash(web(changed)), "f".repeat(32), "a changed spec must not take the old hash");
  assert.is(specHash(web(changed)), specHash(web(model(["200"]).processes)));
});

test("stored values that are not hashes, or absent, are ignored", () => {
  const stored = model(["100"]).processes;
  for (const bad of [undefined, null, "x", { web: 7 }, { web: "not-a-hash" }, { other: "f".repeat(32) }]) {
    const fresh = model(["100"]).processes;
    adoptSpecHashes(stored, bad, fresh);
    const web = fresh.find((spec) => spec.name === "web")!;
    assert.is(specHash(web), specHash(model(["100"]).processes.find((spec) => spec.name === "web")!), JSON.stringify(bad));
  }
});

test("specHash is the same on every call for one spec object", () => {
  const [spec] = model(["100"]).processes;
  assert.is(specHash(spec!), specHash(spec!));
  assert.match(specHash(spec!), /^[0-9a-f]{32}$/);
});

test.run();
