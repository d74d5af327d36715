// systemd: one .service per process and a .target that groups them. Translate (model → unit
// settings, overrides merged), then render text. Pure.
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { systemdEnvironment, systemdExecWord, systemdPath } from "./quote.js";
import { waitForReady } from "./readiness-script.js";
import { GeneratorError, type GeneratedFile, type GeneratorOptions, type GeneratorOutput } from "./types.js";

export const SYSTEMD_TARGET = "procman.target";

type Value = string | number | boolean | readonly (string | number | boolean)[];
type Unit = Record<string, Record<string, Value>>;

export function generateSystemd(model: ResolvedModel, options: GeneratorOptions = {}): GeneratorOutput {
  const warnings: string[] = [];
  const issues: string[] = [];
  const files: GeneratedFile[] = model.processes.map((process) => {
    const unit = translate(process, options, warnings, issues);
    return { path: `${process.name}.service`, contents: render(unit), mode: 0o644 };
  });
  if (issues.length > 0) throw new GeneratorError("systemd", issues);
  const target: Unit = {
    Unit: { Description: "Processes deployed by procman", Wants: model.processes.map(({ name }) => `${name}.service`) },
    Install: { WantedBy: options.userUnits === true ? "default.target" : "multi-user.target" },
  };
  files.push({ path: SYSTEMD_TARGET, contents: render(target), mode: 0o644 });
  return { files, warnings };
}

function translate(process: ResolvedProcess, options: GeneratorOptions, warnings: string[], issues: string[]): Unit {
  const command = process.foreground ?? process.daemon!;
  const forking = process.foreground === undefined;
  // systemd resolves a bare name in its own fixed search path, not in the process's PATH.
  if (!command.executable.startsWith("/") && process.path.length > 0) {
    warnings.push(`${process.name}: systemd looks ${JSON.stringify(command.executable)} up in its fixed search path, not in the model's path entries`);
  }
  const dependencies = process.activatesAfter.map((name) => `${name}.service`);
  if (/^[@\-:+!]/.test(command.executable)) {
    issues.push(`${process.name}: an executable starting with ${command.executable[0]} means something else to systemd's ExecStart=`);
  }
  // Paths are not unquoted: systemd strips whitespace at the end of a setting's value.
  const paths = { directory: process.directory, pidFile: forking ? process.pidFile : undefined, logFile: process.logFile };
  for (const [field, value] of Object.entries(paths)) {
    if (value !== undefined && /\s$/.test(value)) issues.push(`${process.name}: ${field} ends with whitespace, which systemd strips`);
  }
  const unit: Unit = {
    Unit: {
      Description: systemdPath(process.description ?? process.name),
      ...(dependencies.length > 0 ? { Requires: dependencies, After: dependencies } : {}),
      PartOf: SYSTEMD_TARGET,
    },
    Service: {
      Type: forking ? "forking" : "exec",
      ...(forking ? { PIDFile: systemdPath(process.pidFile) } : {}),
      ...(process.initialize !== undefined ? { ExecStartPre: `/bin/sh -c ${systemdExecWord(process.initialize)}` } : {}),
      ExecStart: [command.executable, ...command.args].map(systemdExecWord).join(" "),
      Environment: Object.entries(process.environment).map(([name, value]) => systemdEnvironment(name, value)),
      WorkingDirectory: systemdPath(process.directory ?? "/"),
      StandardOutput: `append:${systemdPath(process.logFile)}`,
      StandardError: `append:${systemdPath(process.logFile)}`,
      KillSignal: process.stop.signal,
      TimeoutStopSec: process.stop.timeout,
      Restart: process.restart.policy,
      RestartSec: process.restart.delay,
    },
    Install: { WantedBy: SYSTEMD_TARGET },
  };
  const service = unit.Service!;
  // A unit counts as started (for After=) only once ExecStartPost= finished: readiness gates dependents.
  const wait = waitForReady(process);
  if (wait !== undefined) {
    service.ExecStartPost = `/bin/sh -c ${systemdExecWord(wait)}`;
    service.TimeoutStartSec = Math.ceil(process.readiness.timeout) + 5;
  }
  if (process.umask !== undefined) service.UMask = process.umask;
  if (process.nice !== undefined) service.Nice = process.nice;
  if (process.user !== undefined || process.group !== undefined) {
    if (options.userUnits === true) warnings.push(`${process.name}: user units cannot switch User=/Group=; ignored`);
    else {
      if (process.user !== undefined) service.User = process.user;
      if (process.group !== undefined) service.Group = process.group;
    }
  }
  for (const [section, settings] of Object.entries(process.overrides.systemd ?? {})) {
    unit[section] = { ...(unit[section] ?? {}), ...(settings as Record<string, Value>) };
  }
  return unit;
}

function render(unit: Unit): string {
  const sections = Object.entries(unit).map(([section, settings]) => {
    const lines = [`[${section}]`];
    for (const [key, value] of Object.entries(settings)) {
      const values = Array.isArray(value) ? value : [value];
      for (const item of values) lines.push(`${key}=${renderValue(item)}`);
    }
    return lines.join("\n");
  });
  return `# Generated by procman; changes are overwritten by the next procman generate/switch.\n${sections.join("\n\n")}\n`;
}

function renderValue(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  // A newline would end the setting and start a new one: never let one through.
  const text = String(value).replace(/\n/g, " ");
  // A line ending in an unescaped backslash continues on the next line (swallowing the next
  // setting). A space after it ends the line instead and is then stripped: the value stays exact.
  return /(?:^|[^\\])(?:\\\\)*\\$/.test(text) ? `${text} ` : text;
}
