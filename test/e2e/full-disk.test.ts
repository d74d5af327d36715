// A full disk when the new generation is recorded: the generation, the largest record, is written
// before any process is touched, so the switch fails (exit 1) with the old process never stopped
// (same PID), and no new process running under the old generation. The state dir is on a small
// tmpfs of its own, filled up before the switch.
import { existsSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { procman, show } from "../helpers/cli.js";
import { tagged, writeJson } from "../helpers/processes.js";
import { makeTempDir } from "../helpers/tmp.js";
import { withTmpfs } from "../helpers/tmpfs.js";

interface Status {
  generation: number | null;
  processes: { name: string; state: string; pid: number | null }[];
}

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
  } catch {
    return "";
  }
};

test("ENOSPC writing the new generation: the switch fails before it stops anything, no half generation", async () => {
  await withTmpfs("full disk at the generation record", "size=2m", async (mnt) => {
    const state = path.join(mnt, "state");
    const models = makeTempDir();
    const before = writeJson(path.join(models, "g1.json"), { a: { foregroundProcess: "/bin/sleep", args: ["100001"], restart: "no" } });
    // 4 × 60 KB of environment: the generation file (~240 KB) cannot fit in what is left.
    const big = Object.fromEntries([1, 2, 3, 4].map((n) => [`BIG${n}`, "x".repeat(60_000)]));
    const after = writeJson(path.join(models, "g2.json"), { a: { foregroundProcess: "/bin/sleep", args: ["100002"], restart: "no", environment: big } });
    try {
      const first = await procman(["switch", before, "--state-dir", state]);
      assert.is(first.code, 0, show(first));
      const [old] = tagged(state);
      const free = statfsSync(mnt);
      writeFileSync(path.join(mnt, "filler"), Buffer.alloc(Math.max(0, free.bavail * free.bsize - 64 * 1024)));
      const failed = await procman(["switch", after, "--state-dir", state]);
      assert.is(failed.code, 1, show(failed));
      assert.match(failed.stderr, "generations/2.json", show(failed));
      assert.match(failed.stderr, "ENOSPC", show(failed));
      assert.not.ok(existsSync(path.join(state, "lib", "procman", "generations", "2.json")), "no generation 2 left behind");
      const running = tagged(state).map((entry) => cmdline(entry.pid));
      assert.equal(running, ["/bin/sleep 100001"], "the old a, the new one gone");
      assert.equal(tagged(state).map((entry) => entry.pid), [old!.pid], "the old a was stopped (and started again)");
      assert.not.match(failed.stdout + failed.stderr, /stopping a|undoing/, show(failed));
      const status = await procman(["status", "--json", "--state-dir", state]);
      assert.is(status.code, 0, show(status));
      const parsed = JSON.parse(status.stdout) as Status;
      assert.is(parsed.generation, 1);
      assert.equal(parsed.processes.map((entry) => [entry.name, entry.state]), [["a", "running"]]);
    } finally {
      const { rmSync } = await import("node:fs");
      rmSync(path.join(mnt, "filler"), { force: true });
      const stop = await procman(["stop", "--state-dir", state]);
      assert.is(stop.code, 0, show(stop));
    }
  });
});

test.run();
