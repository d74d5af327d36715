// The newer fields through the real YAML loader: what a YAML user writes resolves as documented.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveModelFile } from "../../src/resolve-model.js";
import { fixture } from "../helpers/paths.js";

const STATE = "/srv/yaml-state";

test("supervised.yaml resolves: restart, liveness, log, onFailure, directories, PID file, readiness file", async () => {
  const file = fixture("models/supervised.yaml");
  const model = await resolveModelFile(file, { stateDir: STATE });
  const [postgres, redis, worker] = model.processes;
  assert.equal(postgres!.restart, { policy: "always", delay: 2, maxDelay: 60, limit: { burst: 3, interval: 120 } });
  assert.equal(postgres!.liveness, { kind: "command", command: "pg_isready -q -p 5433", interval: 30, timeout: 5, failures: 2 });
  assert.equal(postgres!.log, { maxSize: 50 * 1024 * 1024, keep: 5 });
  assert.is(postgres!.onFailure, 'logger -t procman "$PROCMAN_PROCESS failed"');
  assert.equal(postgres!.stateDirectory, { path: `${STATE}/lib/postgres`, mode: "0700" });
  assert.equal(postgres!.runtimeDirectory, { path: `${STATE}/run/postgres`, mode: "0750" });
  assert.is(postgres!.pidFile, `${STATE}/run/postgres.pid`, "a foreground process: procman writes its PID file");

  assert.is(redis!.restart.policy, "no", "YAML 1.2: no is a string");
  assert.is(redis!.log.maxSize, 0);
  assert.is(redis!.pidFile, `${STATE}/run/redis/redis.pid`, "a daemon running as redis: in its runtimeDirectory");

  const modelDir = file.slice(0, file.lastIndexOf("/"));
  assert.equal(worker!.readiness, { kind: "file", path: `${modelDir}/ready.flag`, timeout: 30, interval: 0.1 });
  assert.equal(worker!.liveness, { kind: "logWithin", seconds: 300, interval: 10, timeout: 5, failures: 3 });
});

test.run();
