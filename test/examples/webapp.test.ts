// The webapp example doubles as a fixture: its TS and YAML forms are the same model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { activationLayers } from "../../src/graph/graph.js";
import { resolveModelFile } from "../../src/resolve-model.js";
import { EXAMPLES } from "../helpers/paths.js";

const DIR = path.join(EXAMPLES, "webapp");
const STATE = "/srv/webapp-state";

test("processes.ts and processes.yaml resolve to deeply equal models", async () => {
  const fromTs = await resolveModelFile(path.join(DIR, "processes.ts"), { stateDir: STATE });
  const fromYaml = await resolveModelFile(path.join(DIR, "processes.yaml"), { stateDir: STATE });
  assert.equal(fromTs, fromYaml);
  assert.is(fromTs.processes.length, 2);
});

test("...and stay equal under other options", async () => {
  const options = { stateDir: "/var", forceDisableUserChange: true, processManager: "systemd" as const };
  const fromTs = await resolveModelFile(path.join(DIR, "processes.ts"), options);
  const fromYaml = await resolveModelFile(path.join(DIR, "processes.yaml"), options);
  assert.equal(fromTs, fromYaml);
  assert.is(fromTs.context.tmpDir, "/tmp");
});

test("the resolved webapp model is what the example says", async () => {
  const model = await resolveModelFile(path.join(DIR, "processes.yaml"), { stateDir: STATE });
  const [webapp, nginx] = model.processes;
  assert.equal(activationLayers(model.processes), [["webapp"], ["nginx"]]);

  assert.is(webapp!.name, "webapp");
  assert.is(webapp!.mode, "foreground");
  assert.equal(webapp!.foreground, { executable: "node", args: [`${DIR}/webapp.mjs`] });
  assert.is(webapp!.daemon, undefined);
  assert.is(webapp!.environment.PORT, "5000");
  assert.equal(webapp!.readiness, { kind: "tcp", host: "127.0.0.1", port: 5000, owned: true, timeout: 20, interval: 0.1 });
  assert.is(webapp!.pidFile, `${STATE}/run/webapp.pid`);
  assert.is(webapp!.logFile, `${STATE}/log/webapp.log`);

  assert.is(nginx!.name, "nginx");
  assert.is(nginx!.mode, "daemon");
  assert.equal(nginx!.daemon, {
    executable: "/usr/sbin/nginx",
    args: ["-p", `${STATE}/nginx/`, "-c", `${DIR}/nginx.conf`, "-e", `${STATE}/nginx/logs/error.log`, "-g", `pid ${STATE}/run/nginx.pid;`],
  });
  assert.is(nginx!.pidFile, `${STATE}/run/nginx.pid`);
  assert.equal(nginx!.activatesAfter, ["webapp"]);
  assert.is(nginx!.initialize, `mkdir -p '${STATE}/nginx/logs' '${STATE}/nginx/tmp'`);
  assert.equal(nginx!.readiness, { kind: "tcp", host: "127.0.0.1", port: 8080, owned: true, timeout: 30, interval: 0.1 });
});

test("the files the example names exist next to it", () => {
  for (const name of ["webapp.mjs", "nginx.conf"]) assert.ok(readFileSync(path.join(DIR, name), "utf8").length > 0, name);
});

test.run();
