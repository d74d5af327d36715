// Crash safety: procman is killed with SIGKILL at random points of a switch (first starts, and
// restarts after model changes); the next switch must converge: exit 0, every declared process
// running exactly once, status all running, and no record half-written.
// Slow by nature: a killed procman's lock goes stale only after ~5 s (proper-lockfile).
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StateDir } from "../../src/executor/state-dir.js";
import { procman, show } from "../helpers/cli.js";
import { instances, killLeftovers, startProcman, tagged, writeJson } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";

const COUNT = 12;
const ROUNDS = 10;
const NAMES = Array.from({ length: COUNT }, (_, index) => `p${String(index).padStart(2, "0")}`);

/** A chain p00 <- p01 <- ... <- p11; each is ready ~100 ms after its start (a log line). */
function chain(versions: readonly number[]): Record<string, unknown> {
  return Object.fromEntries(
    NAMES.map((name, index) => [
      name,
      {
        foregroundProcess: "/bin/sh",
        args: ["-c", "sleep 0.1; echo ready; exec sleep 100000"],
        environment: { VERSION: String(versions[index]) },
        readiness: { logLine: "^ready$", timeout: 20, interval: 0.05 },
        stop: { timeout: 5 },
        ...(index > 0 ? { activatesAfter: [NAMES[index - 1]] } : {}),
      },
    ]),
  );
}

/** Every *.json under lib/procman parses (temp files of an atomic write are hidden .tmp files). */
function recordsParse(dir: string): string[] {
  const files: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at)) {
      const file = path.join(at, entry);
      if (statSync(file).isDirectory()) walk(file);
      else if (entry.endsWith(".json")) {
        JSON.parse(readFileSync(file, "utf8")); // throws on a half-written record
        files.push(path.relative(dir, file));
      }
    }
  };
  walk(path.join(dir, "lib", "procman"));
  return files;
}

// A small deterministic generator: a failing run can be replayed (the seed is printed).
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test("kill -9 procman at random points of switches and restarts; the next switch always converges", async () => {
  const dir = makeTempDir("procman-crash-");
  const files = makeTempDir();
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  const next = random(seed);
  const versions = NAMES.map(() => 1);
  const log: string[] = [`seed ${seed} (CRASH_SEED=${seed} replays it)`];
  try {
    // How long an undisturbed switch of the whole chain takes, to spread the kills over it.
    const model0 = writeJson(path.join(files, "model-0.json"), chain(versions));
    const began = Date.now();
    const full = await procman(["switch", model0, "--state-dir", dir], { timeoutMs: 60_000 });
    assert.is(full.code, 0, show(full));
    const fullMs = Date.now() - began;
    log.push(`a full switch takes ${fullMs} ms`);

    for (let round = 1; round <= ROUNDS; round++) {
      // Odd rounds start the whole chain from nothing; even rounds change one process of the first
      // half, so that it and everything after it in the chain restart.
      if (round % 2 === 1) {
        const stopped = await procman(["stop", "--state-dir", dir], { timeoutMs: 60_000 });
        assert.is(stopped.code, 0, show(stopped));
        assert.equal(tagged(dir), []);
      } else versions[Math.floor((next() * COUNT) / 2)]! += 1;
      const model = writeJson(path.join(files, `model-${round}.json`), chain(versions));
      const delay = Math.floor(next() * fullMs * (round % 2 === 1 ? 1 : 1.5));
      const victim = startProcman(["switch", model, "--state-dir", dir]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      victim.child.kill("SIGKILL");
      const killed = await victim.done;
      log.push(`round ${round}: versions ${versions.join(",")}, killed after ${delay} ms (${killed.signal ?? `exit ${killed.code}`})`);

      const recovery = await procman(["switch", model, "--state-dir", dir], { timeoutMs: 60_000 });
      const context = `${log.join("\n")}\n${show(recovery)}`;
      assert.is(recovery.code, 0, context);

      const running = instances(dir);
      assert.equal([...running.keys()].sort(), NAMES, context);
      for (const [name, pids] of running) assert.is(pids.length, 1, `${name} runs ${pids.length} times (${pids.join(", ")})\n${context}`);
      assert.is(tagged(dir).length, COUNT, `tagged processes that are not the declared ones\n${JSON.stringify(tagged(dir))}\n${context}`);

      const status = await procman(["status", "--json", "--state-dir", dir]);
      assert.is(status.code, 0, show(status));
      const parsed = JSON.parse(status.stdout) as { processes: { name: string; state: string; pid: number }[] };
      for (const entry of parsed.processes) {
        assert.is(entry.state, "running", `${entry.name} is ${entry.state}\n${context}`);
        assert.equal(running.get(entry.name), [entry.pid], `${entry.name}: status and the process table disagree\n${context}`);
      }
      assert.is(parsed.processes.length, COUNT);
      recordsParse(dir);
      assert.equal([...new StateDir(dir).readRecords().keys()].sort(), [...NAMES].sort());
    }
  } finally {
    if (process.env.CRASH_VERBOSE !== undefined) console.log(log.join("\n"));
    const stop = await procman(["stop", "--state-dir", dir], { timeoutMs: 60_000 });
    const left = killLeftovers(dir);
    assert.is(stop.code, 0, show(stop));
    assert.equal(left, [], "stop left processes");
  }
});

test.run();
