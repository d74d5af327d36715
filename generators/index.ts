// The generators by process manager name.
import { generateLaunchd } from "./launchd.js";
import { generateSupervisord } from "./supervisord.js";
import { generateSystemd } from "./systemd.js";
import { generateSysvinit } from "./sysvinit.js";
import type { Generator } from "./types.js";

export const GENERATORS = {
  systemd: generateSystemd,
  launchd: generateLaunchd,
  supervisord: generateSupervisord,
  sysvinit: generateSysvinit,
} as const satisfies Record<string, Generator>;

export type GeneratorName = keyof typeof GENERATORS;
export const GENERATOR_NAMES = Object.keys(GENERATORS) as GeneratorName[];
