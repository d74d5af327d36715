// Processes named like Object.prototype's keys, for real through the CLI: validate, switch, status,
// a supervised restart, stop. Build first: `npx tsc -p .`.
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { alive, waitFor, writeJson } from "../helpers/processes.js";
import { ok, run, scenario } from "../helpers/scenario.js";
import { makeTempDir } from "../helpers/tmp.js";

interface Status {
  processes: { name: string; state: string; pid: number | null; restarts: number }[];
}

/** status --json; it exits 1 while something is not running, e.g. in backoff. */
async function status(dir: string, allRunning = true): Promise<Status> {
  const result = await run(["status", "--json", "--state-dir", dir]);
  if (allRunning) ok(result);
  return JSON.parse(result.stdout) as Status;
}

/** __proto__ first, constructor after it, hasOwnProperty after constructor and toString. */
function writeModel(dir: string): string {
  const sleep = { foregroundProcess: "/bin/sleep", args: ["600"] };
  return writeJson(path.join(dir, "model.json"), {
    ["__proto__"]: { ...sleep, restart: "always" },
    constructor: { ...sleep, activatesAfter: ["__proto__"] },
    hasOwnProperty: { ...sleep, activatesAfter: ["constructor", "toString"] },
    toString: sleep,
  });
}

test("validate: prototype names are processes in their layers", async () => {
  const model = writeModel(makeTempDir());
  const result = JSON.parse(ok(await run(["validate", "--json", model])).stdout) as { processes: number; layers: string[][] };
  assert.equal(result.layers, [["__proto__", "toString"], ["constructor"], ["hasOwnProperty"]]);
});

test("switch, status, restart by the supervisor, stop: prototype names run like any other", async () => {
  await scenario(async (dir, files) => {
    const model = writeModel(files);
    const switched = ok(await run(["switch", model, "--state-dir", dir]));
    assert.match(switched.stdout, /plan: stop 0, start 4/);
    const first = await status(dir);
    assert.equal(first.processes.map(({ name, state }) => [name, state]), [
      ["__proto__", "running"],
      ["constructor", "running"],
      ["hasOwnProperty", "running"],
      ["toString", "running"],
    ]);
    const proto = first.processes.find(({ name }) => name === "__proto__")!;
    process.kill(proto.pid!, "SIGKILL");
    const restarted = await waitFor(async () => {
      const entry = (await status(dir, false)).processes.find(({ name }) => name === "__proto__")!;
      return entry.state === "running" && entry.pid !== proto.pid ? entry : undefined;
    }, 15_000, "__proto__ restarted by the supervisor");
    assert.is(restarted.restarts, 1);
    ok(await run(["stop", "--state-dir", dir]));
    const stopped = await status(dir);
    assert.ok(stopped.processes.every(({ state }) => state === "stopped"), JSON.stringify(stopped));
    assert.not.ok(alive(restarted.pid!));
  });
});

test.run();
