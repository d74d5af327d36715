// What would fail a start only once the switch is under way, found before anything changes: a
// user or group that does not exist is bad input (exit 2), like a field of the wrong type. A
// missing directory or executable is not judged here: an initialize (its own or a dependency's)
// may create it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { ProcmanError } from "../errors.js";
import type { ProcessManagerName, ResolvedProcess } from "../model/types.js";
import { lookupUser, systemTool } from "./run-as.js";

export function preflight(starts: readonly ResolvedProcess[], manager: ProcessManagerName): void {
  // procman itself switches identity only as root; every other manager does it as root anyway.
  const identities = manager !== "direct" || process.getuid?.() === 0;
  if (!identities) return;
  const problems: string[] = [];
  for (const spec of starts) {
    if (spec.user !== undefined) {
      try {
        lookupUser(spec.user);
      } catch (error) {
        problems.push(`${spec.name}: user: ${(error as Error).message}`);
      }
    }
    if (spec.group !== undefined) {
      if (!groups.has(spec.group)) groups.set(spec.group, groupExists(spec.group));
      if (groups.get(spec.group) === false) problems.push(`${spec.name}: group: group ${JSON.stringify(spec.group)} does not exist`);
    }
  }
  if (problems.length > 0) throw new ProcmanError("EIDENTITY", problems.join("\n"), 2);
}

// Asked once per command: a switch checks its whole model before the lock, the transaction its starts.
const groups = new Map<string, boolean>();

/** `getent group` (NSS, as setpriv resolves it); without getent the start itself will tell. */
function groupExists(group: string): boolean {
  const getent = systemTool("getent");
  if (!existsSync(getent)) return true;
  try {
    execFileSync(getent, ["group", "--", group], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
