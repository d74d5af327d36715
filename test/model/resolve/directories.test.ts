// stateDirectory / runtimeDirectory: where names go, modes, and the paths procman must never hand over.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve, STATE_DIR } from "../../helpers/model.js";

const one = (fields: Record<string, unknown>) => resolve({ a: ok(fields) }).processes[0]!;

test("a relative name goes under ${stateDir}/lib/ resp. ${runtimeDir}/, mode 0700", () => {
  const spec = one({ stateDirectory: "postgres", runtimeDirectory: "postgres" });
  assert.equal(spec.stateDirectory, { path: `${STATE_DIR}/lib/postgres`, mode: "0700" });
  assert.equal(spec.runtimeDirectory, { path: `${STATE_DIR}/run/postgres`, mode: "0700" });
});

test("an absolute path is used as it is; { path, mode } sets the mode (3 digits padded)", () => {
  const spec = one({ stateDirectory: { path: "/srv/pg/data", mode: "0750" }, runtimeDirectory: { path: "pg", mode: "755" } });
  assert.equal(spec.stateDirectory, { path: "/srv/pg/data", mode: "0750" });
  assert.equal(spec.runtimeDirectory, { path: `${STATE_DIR}/run/pg`, mode: "0755" });
  assert.is(one({}).stateDirectory, undefined);
});

test('any ".." component is refused, even one that would stay inside', () => {
  assert.equal(
    problems({
      a: ok({ stateDirectory: "../etc" }),
      b: ok({ runtimeDirectory: "x/../y" }),
      c: ok({ stateDirectory: { path: "/srv/../etc" } }),
    }),
    [
      'a: stateDirectory: "../etc" has a ".." component; name the directory directly',
      'b: runtimeDirectory: "x/../y" has a ".." component; name the directory directly',
      'c: stateDirectory.path: "/srv/../etc" has a ".." component; name the directory directly',
    ],
  );
});

test("procman's own records, their ancestors and the shared directories are refused", () => {
  const records = `${STATE_DIR}/lib/procman`;
  assert.equal(
    problems({
      a: ok({ stateDirectory: "procman" }),
      b: ok({ stateDirectory: "procman/generations" }),
      c: ok({ runtimeDirectory: records }),
      d: ok({ stateDirectory: STATE_DIR }),
      e: ok({ stateDirectory: "/" }),
      f: ok({ stateDirectory: "." }),
      g: ok({ runtimeDirectory: "." }),
      h: ok({ stateDirectory: `${STATE_DIR}/log` }),
    }),
    [
      `a: stateDirectory: ${records} is inside procman's own records (${records})`,
      `b: stateDirectory: ${records}/generations is inside procman's own records (${records})`,
      `c: runtimeDirectory: ${records} is inside procman's own records (${records})`,
      `d: stateDirectory: ${STATE_DIR} holds procman's own records (${records}); the process would own them`,
      `e: stateDirectory: / holds procman's own records (${records}); the process would own them`,
      `f: stateDirectory: ${STATE_DIR}/lib holds procman's own records (${records}); the process would own them`,
      `g: runtimeDirectory: ${STATE_DIR}/run is procman's shared runtimeDir; give the process a directory of its own below it`,
      `h: stateDirectory: ${STATE_DIR}/log is procman's shared logDir; give the process a directory of its own below it`,
    ],
  );
});

test("a name that only starts like procman's records is fine", () => {
  assert.equal(one({ stateDirectory: "procman-data" }).stateDirectory, { path: `${STATE_DIR}/lib/procman-data`, mode: "0700" });
});

test("two processes may share a directory made alike, not one made for different owners or modes", () => {
  const shared = resolve({ a: ok({ user: "app", stateDirectory: "app" }), b: ok({ user: "app", stateDirectory: "app" }) });
  assert.is(shared.processes.length, 2);
  assert.equal(
    problems({
      a: ok({ user: "postgres", stateDirectory: "data" }),
      b: ok({ user: "redis", stateDirectory: "data" }),
      c: ok({ user: "postgres", runtimeDirectory: { path: `${STATE_DIR}/lib/data`, mode: "0755" } }),
    }),
    [
      `b: stateDirectory: ${STATE_DIR}/lib/data is also a's stateDirectory, made for user postgres, group (the user's), mode 0700; here for user redis, group (the user's), mode 0700`,
      `c: runtimeDirectory: ${STATE_DIR}/lib/data is also a's stateDirectory, made for user postgres, group (the user's), mode 0700; here for user postgres, group (the user's), mode 0755`,
    ],
  );
});

// A review's attack: the outer directory's service swapped what lies between for a link.
test("an own directory inside another (of the same process or another) is refused", () => {
  assert.equal(
    problems({
      a: ok({ user: "app", stateDirectory: "app", runtimeDirectory: { path: `${STATE_DIR}/lib/app/sub/run` } }),
      b: ok({ user: "app", stateDirectory: { path: "/srv/x/b" } }),
      c: ok({ user: "app", stateDirectory: { path: "/srv/x" } }),
    }),
    [
      `a: runtimeDirectory: ${STATE_DIR}/lib/app/sub/run lies inside a's stateDirectory ${STATE_DIR}/lib/app, which its service may change: give them separate directories`,
      "b: stateDirectory: /srv/x/b lies inside c's stateDirectory /srv/x, which its service may change: give them separate directories",
    ],
  );
  assert.is(resolve({ a: ok({ stateDirectory: { path: "/srv/x1" } }), b: ok({ stateDirectory: { path: "/srv/x10" } }) }).processes.length, 2, "a name that only starts alike");
});

test("bad shapes and modes", () => {
  assert.equal(
    problems({
      a: ok({ stateDirectory: 5 }),
      b: ok({ stateDirectory: { mode: "0700" } }),
      c: ok({ stateDirectory: { path: "x", mode: 448 } }),
      d: ok({ stateDirectory: { path: "x", mode: "0800" } }),
      e: ok({ stateDirectory: { path: "x", mod: "0700" } }),
      f: ok({ runtimeDirectory: "a\nb" }),
      g: ok({ runtimeDirectory: "" }),
    }),
    [
      "a: stateDirectory: must be a directory name, a path, or { path, mode } (got number 5)",
      "b: stateDirectory.path: is required",
      'c: stateDirectory.mode: must be an octal string such as "0750" (got number 448, which is ambiguous: YAML reads 0750 as seven hundred fifty)',
      'd: stateDirectory.mode: must be an octal string of 3 or 4 digits such as "0750" (got string "0800")',
      "e: stateDirectory.mod: unknown field (did you mean mode?)",
      "f: runtimeDirectory: contains a newline; it must be one line without control characters",
      "g: runtimeDirectory: must not be empty",
    ],
  );
});

test.run();
