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

export async function scenario(body: (dir: string, files: string) => Promise<void>): Promise<void> {
  const dir = newStateDir();
  const files = makeTempDir();
  try {
    await body(dir, files);
  } finally {
    await run(["stop", "--state-dir", dir]).catch(() => undefined);
    killLeftovers(dir);
  }
}

/** `status --json`, whatever its exit code says. */
export async function statusJson<T>(dir: string): Promise<T> {
  return JSON.parse((await run(["status", "--json", "--state-dir", dir])).stdout) as T;
}
