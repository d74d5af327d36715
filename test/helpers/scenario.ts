// The frame of an end-to-end test through the CLI: a fresh state dir and a dir for models and
// event files, and afterwards `procman stop` plus a last-resort kill of anything still tagged.
import * as assert from "uvu/assert";
import { procman, show, type CliRun } from "./cli.js";
import { killLeftovers, stateDir as newStateDir } from "./processes.js";
import { makeTempDir } from "./tmp.js";

export const run = (args: readonly string[], timeoutMs = 60_000): Promise<CliRun> => procman(args, { timeoutMs });

export function ok(result: CliRun): CliRun {
  assert.is(result.code, 0, show(result));
  return result;
}

/** After a body that passed, the stop must succeed and leave nothing tagged (after one that failed, it only cleans up). */
export async function scenario(body: (dir: string, files: string) => Promise<void>): Promise<void> {
  const dir = newStateDir();
  const files = makeTempDir();
  let failed = false;
  try {
    await body(dir, files);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const stop = await run(["stop", "--state-dir", dir]).catch((error: Error): CliRun => ({ code: -1, stdout: "", stderr: error.message, signal: null }));
    const left = killLeftovers(dir);
    if (!failed) {
      assert.is(stop.code, 0, show(stop));
      assert.equal(left, [], "stop left processes");
    }
  }
}

/** `status --json`, whatever its exit code says. */
export async function statusJson<T>(dir: string): Promise<T> {
  return JSON.parse((await run(["status", "--json", "--state-dir", dir])).stdout) as T;
}
