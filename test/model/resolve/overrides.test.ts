// overrides: raw settings, written into the target's file as they are. What would break out of its
// line (a line break in a value or key, "]" in a section name) or cannot be written at all (null,
// an object where a value goes, an infinite number) is bad input, named by field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ok, problems, resolve } from "../../helpers/model.js";

test("well-formed overrides of every manager pass as given", () => {
  const overrides = {
    systemd: { Service: { LimitNOFILE: 4096, Environment: ["A=1", "B=2"], PrivateTmp: true }, "X-Extra": { Note: "x" } },
    supervisord: { startsecs: 5, stopasgroup: true },
    launchd: { ThrottleInterval: 5, SoftResourceLimits: { NumberOfFiles: 4096 }, Sockets: [{ SockServiceName: "http" }] },
    sysvinit: { "Default-Start": "3 5", "Should-Start": ["network", "time"] },
  };
  assert.equal(resolve({ a: ok({ overrides }) }).processes[0]!.overrides, overrides);
});

// A review: "Nice\n" became two lines of a unit, a section "Bad]\n[Unit" a new section, an object
// "[object Object]", null "null", and a supervisord value "1\ncommand=/bin/evil" a second command=.
test("keys, section names and values that would leave their line, and values no file can hold, are refused", () => {
  assert.equal(
    problems({
      a: ok({
        overrides: {
          systemd: { Service: { "Nice\n": 3, X: { y: 1 }, Z: null, W: ["ok", "no\nway"] }, "Bad]\n[Unit": { A: "b" } },
          supervisord: { startsecs: "1\ncommand=/bin/evil", list: [1, 2] },
          launchd: { Foo: null, N: Number.POSITIVE_INFINITY, Deep: [{ x: null }] },
          sysvinit: { "Default-Start": "2 3\n", "bad key": "x" },
        },
      }),
    }),
    [
      'a: overrides.systemd.Service["Nice\\n"]: is not a setting name (letters, digits, "_", "." and "-", starting with a letter)',
      "a: overrides.systemd.Service.X: must be a string, number or boolean, or a list of them (got an object)",
      "a: overrides.systemd.Service.Z: must be a string, number or boolean, or a list of them (got null)",
      "a: overrides.systemd.Service.W[1]: contains a line break or another control character, which would end the setting in the generated file",
      'a: overrides.systemd["Bad]\\n[Unit"]: is not a unit file section name (letters, digits and "-")',
      "a: overrides.supervisord.startsecs: contains a line break or another control character, which would end the setting in the generated file",
      "a: overrides.supervisord.list: must be a string, number or boolean (got an array)",
      "a: overrides.sysvinit.Default-Start: contains a line break or another control character, which would end the setting in the generated file",
      'a: overrides.sysvinit["bad key"]: is not a setting name (letters, digits, "_", "." and "-", starting with a letter)',
      "a: overrides.launchd.Foo: must be a string, number, boolean, list or mapping, as a plist holds (got null)",
      "a: overrides.launchd.N: must be a finite number (got number Infinity)",
      "a: overrides.launchd.Deep[0].x: must be a string, number, boolean, list or mapping, as a plist holds (got null)",
    ],
  );
});

test.run();
