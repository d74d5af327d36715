// The managers procman generates for, without loading the generators themselves (the CLI needs
// the names for its flags on every run, the generators only for `generate` and `switch -P`).
export const GENERATOR_NAMES = ["systemd", "launchd", "supervisord", "sysvinit"] as const;
export type GeneratorName = (typeof GENERATOR_NAMES)[number];
