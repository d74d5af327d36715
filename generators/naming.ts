// Every name a generator gives to what it writes, namespaced by the prefix P (default "procman"):
// two deployments (or a distribution's own units) never share a name. One place, so that the
// deployers find what the generators wrote by the same rule.
import { GeneratorError, type GeneratorOptions } from "./types.js";

export const DEFAULT_PREFIX = "procman";

/** The charset of process names: a prefix ends up in the same file and unit names. */
const PREFIX = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The prefix of the options, checked; a bad one is refused naming the manager (exit 2). */
export function prefixOf(manager: string, options: GeneratorOptions = {}): string {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!PREFIX.test(prefix)) {
    throw new GeneratorError(manager, [`prefix ${JSON.stringify(prefix)} must match [A-Za-z0-9_][A-Za-z0-9_.-]* (as process names do)`]);
  }
  return prefix;
}

export const systemdUnitName = (prefix: string, name: string) => `${prefix}-${name}.service`;
export const systemdTargetName = (prefix: string) => `${prefix}.target`;
/**
 * The oneshot that creates the directories every unit needs before systemd opens their logs. A
 * process named "dirs" would get the same name: the systemd generator refuses it.
 */
export const SYSTEMD_DIRS_PROCESS = "dirs";
export const systemdDirsUnitName = (prefix: string) => `${prefix}-${SYSTEMD_DIRS_PROCESS}.service`;
export const sysvinitScriptName = (prefix: string, name: string) => `${prefix}-${name}`;
export const launchdLabelOf = (prefix: string, name: string) => `org.${prefix}.${name}`;
/** supervisord's group; supervisorctl addresses a program in it as `P:name`. */
export const supervisordGroupName = (prefix: string) => prefix;
