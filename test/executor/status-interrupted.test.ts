// status and a journal: a command cut off (its PID no longer names it) is reported with what it
// started and never recorded; a command under way (the journal names this live process) as such.
import { spawn, spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TAG_VARIABLE, tagFor } from "../../src/executor/launch.js";
import { identityOf } from "../../src/executor/proc.js";
import { StateDir } from "../../src/executor/state-dir.js";
import { readStatus } from "../../src/executor/status.js";
import { killLeftovers, stateDir as newStateDir, waitFor } from "../helpers/processes.js";

function journalOf(pid: number, startTime: string) {
  return { pid, startTime, startedAt: new Date().toISOString(), command: "switch" };
}

test("a cut-off command: named, with the tagged session leader it never recorded; one under way: running", async () => {
  const dir = newStateDir();
  try {
    const state = new StateDir(dir);
    state.setCurrent({ generation: 1, active: false }); // makes lib/procman; no generation needed
    // A PID that ran and is gone: a killed procman's.
    const gone = spawnSync("true");
    assert.is(gone.status, 0);
    state.writeJournal(journalOf(gone.pid!, "1"));
    const ghost = spawn("/bin/sleep", ["1000"], { detached: true, stdio: "ignore", env: { [TAG_VARIABLE]: tagFor("ghost", "h", dir) } });
    await waitFor(() => identityOf(ghost.pid!) !== undefined, 5000, "the ghost to run");
    const cut = await readStatus(dir);
    assert.equal(cut.interrupted, { command: "switch", pid: gone.pid, startedAt: cut.interrupted!.startedAt, running: false, unrecorded: [{ name: "ghost", pid: ghost.pid }] });
    // This process as the journal's command: under way, nothing scanned.
    state.writeJournal(journalOf(process.pid, identityOf(process.pid)!.startTime));
    const busy = await readStatus(dir);
    assert.equal(busy.interrupted?.running, true);
    assert.equal(busy.interrupted?.unrecorded, []);
    state.clearJournal();
    assert.is((await readStatus(dir)).interrupted, null);
  } finally {
    killLeftovers(dir);
  }
});

test.run();
