// The generators by process manager name.
import { generateLaunchd } from "./launchd.js";
import { generateSupervisord } from "./supervisord.js";
import { generateSystemd } from "./systemd.js";
import { generateSysvinit } from "./sysvinit.js";
import type { GeneratorName } from "./names.js";
import type { Generator } from "./types.js";

export { GENERATOR_NAMES, type GeneratorName } from "./names.js";

export const GENERATORS = {
  systemd: generateSystemd,
  launchd: generateLaunchd,
  supervisord: generateSupervisord,
  sysvinit: generateSysvinit,
} as const satisfies Record<GeneratorName, Generator>;
