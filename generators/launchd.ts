// launchd: one property list per process. launchd has no dependencies, so a process that
// activatesAfter others starts through `/bin/sh -c '<wait until they are ready>; exec "$0" "$@"'`
// with its own argv as positional parameters (no re-quoting). Pure.
import path from "node:path";
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { setOwn } from "../src/own-property.js";
import { directoryCalls, directoryFunctions, neededDirectories, type NeededDirectory } from "./directories.js";
import { DEFAULT_PREFIX, launchdLabelOf, prefixOf } from "./naming.js";
import { shQuote, xmlCannotCarry, xmlText } from "./quote.js";
import { startWrapper } from "./readiness-script.js";
import { daemonProxy } from "./daemon-proxy.js";
import { environmentWithCopies } from "./exact-env.js";
import { GeneratorError, type GeneratedFile, type GeneratorOptions, type GeneratorOutput } from "./types.js";

type PlistValue = string | number | boolean | readonly PlistValue[] | { readonly [key: string]: PlistValue };

/** The label of a process under the prefix (default "procman"): `org.P.<name>`, file `<label>.plist`. */
export function launchdLabel(name: string, prefix: string = DEFAULT_PREFIX): string {
  return launchdLabelOf(prefix, name);
}

export function generateLaunchd(model: ResolvedModel, options: GeneratorOptions = {}): GeneratorOutput {
  const prefix = prefixOf("launchd", options);
  const installDir = options.installDir ?? path.join(model.context.stateDir, "lib", "procman", "launchd");
  const byName = new Map(model.processes.map((spec) => [spec.name, spec]));
  const issues: string[] = [];
  const warnings: string[] = [];
  const { dirs, issues: dirIssues } = neededDirectories(model);
  issues.push(...dirIssues);
  const processFiles: Record<string, string[]> = {};
  const names: Record<string, string> = {};
  const files: GeneratedFile[] = model.processes.map((spec) => {
    const dependencies = spec.activatesAfter.map((name) => byName.get(name)!);
    // The wrapper waits for a dependency's readiness check; "alive after start" is none it can run
    // (launchd loads every job at once): `switch -P launchd` orders them, a boot does not.
    for (const dependency of dependencies) {
      if (dependency.readiness.kind === "started") {
        warnings.push(`${spec.name}: activatesAfter ${dependency.name}, which has no readiness check: launchd may start ${spec.name} before ${dependency.name} runs when it loads them itself (at boot); give ${dependency.name} a readiness check`);
      }
    }
    const label = launchdLabel(spec.name, prefix);
    const { argv, wrapped: startWrapped } = argvOf(spec, dependencies);
    const plist = translate(spec, label, argv, spec.foreground === undefined || startWrapped);
    checkCarriable(spec.name, plist, "", issues);
    // Behind the daemon proxy or the start wrapper, the program starts through `env -i`.
    const wrapped = spec.foreground === undefined || startWrapped;
    if (wrapped && (spec.foreground ?? spec.daemon)!.executable.includes("=")) {
      issues.push(`${spec.name}: an executable path with "=" would be read by env as an assignment`);
    }
    if (spec.readiness.kind === "notify") {
      issues.push(`${spec.name}: readiness notify (descriptor ${spec.readiness.fd}) cannot be carried: launchd hands a job no descriptor to report on, and its dependents must wait for it`);
    }
    if (spec.liveness !== undefined) warnings.push(`${spec.name}: launchd cannot run the ${spec.liveness.kind} liveness check; not carried`);
    if (spec.restart.policy !== "no") {
      warnings.push(`${spec.name}: launchd respawns at most every ThrottleInterval (${plist.ThrottleInterval} s); restart.maxDelay and restart.limit are not carried`);
    }
    if (spec.onFailure !== undefined) warnings.push(`${spec.name}: onFailure is not carried to launchd`);
    const file = `${label}.plist`;
    setOwn(processFiles, spec.name, [file]);
    setOwn(names, spec.name, label);
    // EnvironmentVariables holds the values: readable by its owner (root or the agent's user) only.
    return { path: file, contents: render(plist), mode: 0o600 };
  });
  if (issues.length > 0) throw new GeneratorError("launchd", issues);
  const setup = `${prefix}-setup.sh`;
  files.push({ path: setup, contents: setupScript(dirs, model.processes), mode: 0o755 });
  const domain = "system (as root; gui/$(id -u) for a user's own agents)";
  const plists = model.processes.map(({ name }) => path.join(installDir, `${launchdLabel(name, prefix)}.plist`));
  const steps = [
    `Create the directories the jobs need (launchd creates no log or state directory; as root the script gives each stateDirectory/runtimeDirectory its owner): sh ${shQuote(path.join(installDir, setup))}`,
    `Load the jobs into the ${domain} domain: ${plists.map((plist) => `launchctl bootstrap system ${shQuote(plist)}`).join("; ")} (or copy them into /Library/LaunchDaemons). Each job waits for what it activatesAfter itself.`,
    `Stop and unload them: ${model.processes.map(({ name }) => `launchctl bootout system/${launchdLabel(name, prefix)}`).join("; ")}`,
  ];
  return { files, warnings, processFiles, sharedFiles: [setup], names, steps };
}

/**
 * sh that creates every directory the jobs need, before they are loaded. launchd opens
 * StandardOutPath only after switching to UserName: as root, the script creates the log file of a
 * job with a user and gives it that owner (the file only; its directory stays the manager's).
 */
function setupScript(dirs: readonly NeededDirectory[], specs: readonly ResolvedProcess[]): string {
  const logFiles = specs
    .filter((spec) => spec.user !== undefined)
    .map((spec) => `procman_log_file ${[spec.logFile, spec.user!, spec.group ?? ""].map(shQuote).join(" ")} || exit 1`);
  return [
    "#!/bin/sh",
    "# Generated by procman; changes are overwritten by the next procman generate/switch.",
    "# Creates the directories the jobs need; run it before loading them (as root when the jobs run",
    "# as other users: it gives their own directories and log files their owner).",
    "set -u",
    ...directoryFunctions(),
    ...directoryCalls(dirs),
    ...(logFiles.length > 0
      ? [
          "# The log file of a job that runs as another user, writable by it (as root only).",
          "procman_log_file() {",
          '  [ "$(id -u)" -eq 0 ] || return 0',
          '  if [ -L "$1" ] || { [ -e "$1" ] && [ ! -f "$1" ]; }; then echo "procman: $1 exists and is not a regular file" >&2; return 1; fi',
          '  [ -e "$1" ] || : >> "$1" || return 1',
          '  if [ -n "$3" ]; then chown -h -- "$2:$3" "$1"; else chown -h -- "$2:$(id -g "$2")" "$1"; fi',
          "}",
          ...logFiles,
        ]
      : []),
    "",
  ].join("\n");
}

/** The argv launchd runs: the declared one, behind the dependency wait, initialize and the daemon proxy when needed. */
export function launchdArgv(spec: ResolvedProcess, dependencies: readonly ResolvedProcess[]): string[] {
  return argvOf(spec, dependencies).argv;
}

/** The argv, and whether it starts behind the start wrapper (built once: it waits for every dependency). */
function argvOf(spec: ResolvedProcess, dependencies: readonly ResolvedProcess[]): { argv: string[]; wrapped: boolean } {
  // launchd supervises a foreground process; a self-daemonizing one goes through a proxy.
  let argv = spec.foreground !== undefined
    ? [spec.foreground.executable, ...spec.foreground.args]
    : daemonProxy(spec);
  // The wrapper's sh would add PWD to the environment: it execs the program through the exact
  // environment's last step, which is given the names only (the values are in EnvironmentVariables).
  const wrapper = startWrapper(dependencies, spec, spec.environment);
  if (wrapper !== undefined) argv = ["/bin/sh", "-c", wrapper, ...argv];
  return { argv, wrapped: wrapper !== undefined };
}

/** `wrapped`: a sh runs before the program, so the variables a sh changes travel in copies too. */
function translate(spec: ResolvedProcess, label: string, argv: string[], wrapped: boolean): Record<string, PlistValue> {
  const plist: Record<string, PlistValue> = {
    Label: label,
    ProgramArguments: argv,
    EnvironmentVariables: wrapped ? environmentWithCopies(spec.environment) : { ...spec.environment },
    WorkingDirectory: spec.directory ?? "/",
    RunAtLoad: true,
    KeepAlive: spec.restart.policy === "always" ? true : spec.restart.policy === "on-failure" ? { SuccessfulExit: false } : false,
    ThrottleInterval: Math.max(1, Math.round(spec.restart.delay)),
    StandardOutPath: spec.logFile,
    StandardErrorPath: spec.logFile,
    ExitTimeOut: Math.ceil(spec.stop.timeout),
  };
  if (spec.umask !== undefined) plist.Umask = Number.parseInt(spec.umask, 8); // decimal in the plist
  if (spec.nice !== undefined) plist.Nice = spec.nice;
  if (spec.user !== undefined) plist.UserName = spec.user;
  if (spec.group !== undefined) plist.GroupName = spec.group;
  return { ...plist, ...((spec.overrides.launchd ?? {}) as Record<string, PlistValue>) };
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
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  renderValue(plist, "", lines);
  lines.push("</plist>", "");
  return lines.join("\n");
}

/** Appends the lines of one value (into one list: no joined string per nested value). */
function renderValue(value: PlistValue, indent: string, lines: string[]): void {
  if (typeof value === "string") lines.push(`${indent}<string>${xmlText(value)}</string>`);
  else if (typeof value === "boolean") lines.push(`${indent}<${value}/>`);
  else if (typeof value === "number") lines.push(Number.isInteger(value) ? `${indent}<integer>${value}</integer>` : `${indent}<real>${value}</real>`);
  else if (Array.isArray(value)) {
    lines.push(`${indent}<array>`);
    // A hole (a sparse array in a TS model) stays an empty line, as a join renders it.
    for (let index = 0; index < value.length; index++) {
      if (index in value) renderValue(value[index]!, `${indent}  `, lines);
      else lines.push("");
    }
    lines.push(`${indent}</array>`);
  } else {
    lines.push(`${indent}<dict>`);
    for (const [key, item] of Object.entries(value as Record<string, PlistValue>)) {
      lines.push(`${indent}  <key>${xmlText(key)}</key>`);
      renderValue(item, `${indent}  `, lines);
    }
    lines.push(`${indent}</dict>`);
  }
}
