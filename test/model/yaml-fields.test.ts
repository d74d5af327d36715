// The newer fields through the real YAML loader: what a YAML user writes resolves as documented.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatIssue, type ModelError } from "../../src/errors.js";
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


test("supervision-problems.yaml: every problem of the newer fields at once, each naming process and field", async () => {
  let issues: string[] = [];
  try {
    await resolveModelFile(fixture("models/supervision-problems.yaml"), { stateDir: STATE });
  } catch (error) {
    issues = (error as ModelError).issues.map(formatIssue);
  }
  assert.equal(issues, [
    'db: stateDirectory: "../etc" has a ".." component; name the directory directly',
    `db: pidFile: ${STATE}/lib/procman/db.pid is inside procman's own records (${STATE}/lib/procman)`,
    'db: restart.policy: must be one of no, on-failure, always (got string "sometimes")',
    "db: restart.maxDelay: (5 s) is shorter than restart.delay (10 s)",
    "db: restart.limit.burst: must be an integer at least 1 and at most 10000 (got 0)",
    'cache: runtimeDirectory.mode: must be an octal string such as "0750" (got number 750, which is ambiguous: YAML reads 0750 as seven hundred fifty)',
    "cache: liveness: has tcp and http; give exactly one kind of check",
    'cache: log.maxSize: must be a number of bytes or a size such as "512K", "10M", "1G" (0: never rotate) (got string "10MB")',
    "cache: log.keep: must be an integer at least 1 and at most 100 (got 0)",
    "queue: readiness.notify: needs a foreground process: a daemon forks away from the descriptor procman would read",
    "queue: onFailure: must not be empty",
    "queue: pidFile: /run/shared.pid is also cache's pidFile; each process needs its own",
  ]);
});

test.run();
