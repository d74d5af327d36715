// External tools the tests drive for real (Graphviz `dot`, …). On a developer machine a missing tool
// skips the test, saying so; in CI (CI=true) a missing tool fails it: nothing may skip there.
import { findExecutable } from "../../src/executor/executable.js";

/** The absolute path of `name` on PATH, or undefined (as procman itself looks). */
export const findTool = findExecutable;

export interface ToolCheckOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly searchPath?: string;
  readonly log?: (message: string) => void;
}

/**
 * Whether the test needing `name` may run. Missing tool: throws `<name> is required in CI` when
 * CI=true, else prints which tool is missing and returns false (the caller returns early: a skip).
 */
export function haveTool(name: string, testName?: string, options: ToolCheckOptions = {}): boolean {
  const env = options.env ?? process.env;
  if (findTool(name, options.searchPath ?? env.PATH ?? "") !== undefined) return true;
  if (env.CI === "true") throw new Error(`${name} is required in CI`);
  const log = options.log ?? ((message: string) => console.log(message));
  log(`  SKIP${testName === undefined ? "" : ` ${testName}`}: ${name} is not on PATH (install it to run this test)`);
  return false;
}
