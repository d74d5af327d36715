// launchd: one property list per process. launchd has no dependencies, so a process that
// activatesAfter others starts through `/bin/sh -c '<wait until they are ready>; exec "$0" "$@"'`
// with its own argv as positional parameters (no re-quoting). Pure.
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { xmlCannotCarry, xmlText } from "./quote.js";
import { startWrapper } from "./readiness-script.js";
import { daemonProxy } from "./daemon-proxy.js";
import { GeneratorError, type GeneratedFile, type GeneratorOutput } from "./types.js";

export const LAUNCHD_PREFIX = "org.procman.";

type PlistValue = string | number | boolean | readonly PlistValue[] | { readonly [key: string]: PlistValue };

export function launchdLabel(name: string): string {
  return `${LAUNCHD_PREFIX}${name}`;
}

export function generateLaunchd(model: ResolvedModel): GeneratorOutput {
  const byName = new Map(model.processes.map((process) => [process.name, process]));
  const issues: string[] = [];
  const files: GeneratedFile[] = model.processes.map((process) => {
    const dependencies = process.activatesAfter.map((name) => byName.get(name)!);
    const plist = translate(process, dependencies);
    checkCarriable(process.name, plist, "", issues);
    // Behind the daemon proxy or the start wrapper, the program starts through `env -i`.
    const wrapped = process.foreground === undefined || startWrapper(dependencies, process) !== undefined;
    if (wrapped && (process.foreground ?? process.daemon)!.executable.includes("=")) {
      issues.push(`${process.name}: an executable path with "=" would be read by env as an assignment`);
    }
    return { path: `${launchdLabel(process.name)}.plist`, contents: render(plist), mode: 0o644 };
  });
  if (issues.length > 0) throw new GeneratorError("launchd", issues);
  return { files, warnings: [] };
}

/** The argv launchd runs: the declared one, behind the dependency wait, initialize and the daemon proxy when needed. */
export function launchdArgv(process: ResolvedProcess, dependencies: readonly ResolvedProcess[]): string[] {
  // launchd supervises a foreground process; a self-daemonizing one goes through a proxy.
  let argv = process.foreground !== undefined
    ? [process.foreground.executable, ...process.foreground.args]
    : daemonProxy(process);
  // The wrapper's sh execs the program through `env -i`: it would add PWD to the environment.
  const wrapper = startWrapper(dependencies, process, process.environment);
  if (wrapper !== undefined) argv = ["/bin/sh", "-c", wrapper, ...argv];
  return argv;
}

function translate(process: ResolvedProcess, dependencies: readonly ResolvedProcess[]): Record<string, PlistValue> {
  const plist: Record<string, PlistValue> = {
    Label: launchdLabel(process.name),
    ProgramArguments: launchdArgv(process, dependencies),
    EnvironmentVariables: { ...process.environment },
    WorkingDirectory: process.directory ?? "/",
    RunAtLoad: true,
    KeepAlive: process.restart.policy === "always" ? true : process.restart.policy === "on-failure" ? { SuccessfulExit: false } : false,
    ThrottleInterval: Math.max(1, Math.round(process.restart.delay)),
    StandardOutPath: process.logFile,
    StandardErrorPath: process.logFile,
    ExitTimeOut: Math.ceil(process.stop.timeout),
  };
  if (process.umask !== undefined) plist.Umask = Number.parseInt(process.umask, 8); // decimal in the plist
  if (process.nice !== undefined) plist.Nice = process.nice;
  if (process.user !== undefined) plist.UserName = process.user;
  if (process.group !== undefined) plist.GroupName = process.group;
  return { ...plist, ...((process.overrides.launchd ?? {}) as Record<string, PlistValue>) };
}

function checkCarriable(name: string, value: PlistValue, where: string, issues: string[]): void {
  if (typeof value === "string") {
    const problem = xmlCannotCarry(value);
    if (problem !== undefined) issues.push(`${name}: ${where || "a value"} contains a ${problem}, which a plist (XML 1.0) cannot carry`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkCarriable(name, item, `${where}[${index}]`, issues));
  } else if (typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      checkCarriable(name, key, `${where}${where ? "." : ""}${key} (key)`, issues);
      checkCarriable(name, item as PlistValue, `${where}${where ? "." : ""}${key}`, issues);
    }
  }
}

function render(plist: Record<string, PlistValue>): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    renderValue(plist, ""),
    "</plist>",
    "",
  ].join("\n");
}

function renderValue(value: PlistValue, indent: string): string {
  if (typeof value === "string") return `${indent}<string>${xmlText(value)}</string>`;
  if (typeof value === "boolean") return `${indent}<${value}/>`;
  if (typeof value === "number") return Number.isInteger(value) ? `${indent}<integer>${value}</integer>` : `${indent}<real>${value}</real>`;
  if (Array.isArray(value)) {
    return [`${indent}<array>`, ...value.map((item) => renderValue(item, `${indent}  `)), `${indent}</array>`].join("\n");
  }
  const entries = Object.entries(value as Record<string, PlistValue>);
  return [
    `${indent}<dict>`,
    ...entries.flatMap(([key, item]) => [`${indent}  <key>${xmlText(key)}</key>`, renderValue(item, `${indent}  `)]),
    `${indent}</dict>`,
  ].join("\n");
}
