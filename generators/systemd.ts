// systemd: one P-<name>.service per process with its environment in a 0600 P-<name>.env, the
// P.target that starts them all, and P-dirs.service, a oneshot that creates the directories the
// units need (from the tmpfiles.d snippet P-dirs.tmpfiles) before any of them starts: systemd
// opens StandardOutput=append: before ExecStartPre=, so a unit cannot create its own log dir.
// Translate (model → unit settings, overrides merged), then render text. Pure.
import path from "node:path";
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { setOwn } from "../src/own-property.js";
import { neededDirectories, type NeededDirectory } from "./directories.js";
import { SYSTEMD_DIRS_PROCESS, prefixOf, systemdDirsUnitName, systemdTargetName, systemdUnitName } from "./naming.js";
import { hasLoneSurrogate, systemdEnvFileValue, systemdEnvironment, systemdExecWord, systemdPath, tmpfilesWord } from "./quote.js";
import { removeStaleReadyFile, waitForReady } from "./readiness-script.js";
import { GeneratorError, type GeneratedFile, type GeneratorOptions, type GeneratorOutput } from "./types.js";

/** The target of the default prefix (kept for callers that do not namespace yet). */
export const SYSTEMD_TARGET = systemdTargetName("procman");
export const DEFAULT_SYSTEMD_VERSION = 252;
/** RestartSteps= and RestartMaxDelaySec= appeared in systemd 254. */
const RESTART_STEPS_SINCE = 254;

/** What systemd itself gives a service (its documented interface): kept by the wrapper below. */
const SYSTEMD_INTERFACE = [
  "INVOCATION_ID", "SYSTEMD_EXEC_PID", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC",
  "WATCHDOG_PID", "MAINPID", "MONITOR_SERVICE_RESULT", "MONITOR_EXIT_CODE", "MONITOR_EXIT_STATUS", "MONITOR_INVOCATION_ID", "MONITOR_UNIT",
];
/** Variables a POSIX sh sets itself at its start (dash: PWD, IFS, OPTIND, PPID): carried past it in copies. */
const SH_SETS = ["IFS", "OPTIND", "PPID", "PWD"];
const SAVED = "PROCMAN_SAVED_";

/**
 * systemd hands a service its manager's environment too (LANG from locale.conf, whatever
 * `systemctl set-environment` added; with User=, HOME, USER, LOGNAME and SHELL): the program must
 * get exactly its own, as under procman. This sh, in front of the command, unsets every variable
 * that is neither declared (read from the EnvironmentFile) nor systemd's own interface, restores
 * what the sh itself changed from the copies in the EnvironmentFile, and execs the command through
 * env. Only names are in the unit, never a value. A multi-line value can only make it unset a name
 * that is not declared, which is what it does anyway.
 */
function exactly(spec: ResolvedProcess, argv: readonly string[], extra: readonly string[] = []): string {
  return withPrefix(exactlyPrefix(spec, extra), argv);
}

function withPrefix(prefix: string, argv: readonly string[]): string {
  const words = [prefix];
  for (const word of argv) words.push(systemdExecWord(word));
  return words.join(" ");
}

/**
 * The words of `exactly` before the argv, quoted: `/bin/sh -c <script> sh <kept names> --`. Built
 * once per unit (ExecStartPre=, ExecStart= and ExecStartPost= share it); the quoted script itself
 * once per set of restored names.
 */
function exactlyPrefix(spec: ResolvedProcess, extra: readonly string[] = []): string {
  const restored = SH_SETS.filter((name) => name in spec.environment);
  const key = restored.join(" ");
  let head = WRAPPER_HEADS.get(key);
  if (head === undefined) {
    const restore = restored.map((name) => `[ -z "\${${SAVED}${name}+x}" ] || set -- "${name}=$${SAVED}${name}" "$@"; `).join("");
    const script =
      `__procman_keep=' '; while [ "$1" != -- ]; do __procman_keep="$__procman_keep$1 "; shift; done; shift; ${restore}` +
      `for __procman_n in $(/usr/bin/env | /bin/sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p'); do ` +
      `case "$__procman_keep" in *" $__procman_n "*) ;; *) set -- -u "$__procman_n" "$@" ;; esac; done; ` +
      `exec /usr/bin/env "$@"`;
    head = ["/bin/sh", "-c", script, "sh"].map(systemdExecWord).join(" ");
    WRAPPER_HEADS.set(key, head);
  }
  const words = [head];
  for (const name of Object.keys(spec.environment)) words.push(systemdExecWord(name));
  for (const name of extra) words.push(systemdExecWord(name));
  words.push(INTERFACE_WORDS);
  return words.join(" ");
}

/** The wrapper's quoted head by the names it restores (at most 2^4 entries: a cache, not state). */
const WRAPPER_HEADS = new Map<string, string>();
/** systemd's own names, then the end of the kept names. */
const INTERFACE_WORDS = [...SYSTEMD_INTERFACE, "--"].map(systemdExecWord).join(" ");

type Value = string | number | boolean | readonly (string | number | boolean)[];
type Unit = Record<string, Record<string, Value>>;

interface Names {
  readonly prefix: string;
  readonly target: string;
  readonly dirsUnit: string;
  /** Absolute: where the files are installed (EnvironmentFile= and the tmpfiles snippet are named by path). */
  readonly installDir: string;
  /** path.join(installDir, file) for a file name without "/" (a generated one). */
  readonly installed: (file: string) => string;
  readonly unit: (name: string) => string;
  readonly envFile: (name: string) => string;
  /** An instance name: "@" is not in a process name's charset, so no process unit can take it. */
  readonly onFailureUnit: (name: string) => string;
  readonly tmpfiles: string;
}

export function generateSystemd(model: ResolvedModel, options: GeneratorOptions = {}): GeneratorOutput {
  const prefix = prefixOf("systemd", options);
  const installDir = options.installDir ?? path.join(model.context.stateDir, "lib", "procman", "systemd");
  // path.join(installDir, "x") minus the "x": normalized, ending in "/". A file name without "/",
  // never "." or "..", joins to exactly this plus the name.
  const installBase = path.join(installDir, "x").slice(0, -1);
  const names: Names = {
    prefix,
    target: systemdTargetName(prefix),
    dirsUnit: systemdDirsUnitName(prefix),
    installDir,
    installed: (file) => `${installBase}${file}`,
    unit: (name) => systemdUnitName(prefix, name),
    envFile: (name) => `${prefix}-${name}.env`,
    onFailureUnit: (name) => `${prefix}-onfailure@${name}.service`,
    tmpfiles: `${prefix}-dirs.tmpfiles`,
  };
  const version = options.systemdVersion ?? DEFAULT_SYSTEMD_VERSION;
  const warnings: string[] = [];
  const issues: string[] = [];
  if (!path.isAbsolute(installDir)) issues.push(`the install directory ${JSON.stringify(installDir)} is not absolute`);
  if (/\s$/.test(installDir)) issues.push(`the install directory ${JSON.stringify(installDir)} ends with whitespace, which systemd strips`);
  const { dirs, issues: dirIssues } = neededDirectories(model, { ignoreOwners: options.userUnits === true });
  issues.push(...dirIssues);

  const files: GeneratedFile[] = [];
  const processFiles: Record<string, string[]> = {};
  const unitNames: Record<string, string> = {};
  const fixedDelay: string[] = [];
  for (const spec of model.processes) {
    if (spec.name === SYSTEMD_DIRS_PROCESS) {
      issues.push(`${spec.name}: the name "${SYSTEMD_DIRS_PROCESS}" is taken by ${names.dirsUnit}, which creates the directories; rename the process`);
      continue;
    }
    const unitName = names.unit(spec.name);
    const envFileName = names.envFile(spec.name);
    if (unitName.length > 255) issues.push(`${spec.name}: the unit name ${unitName} is longer than systemd's 255 characters`);
    const unit = translate(spec, names, version, options, warnings, issues, fixedDelay);
    const envFile = environmentFile(spec, issues);
    files.push({ path: unitName, contents: render(unit), mode: 0o644 });
    files.push({ path: envFileName, contents: envFile, mode: 0o600 });
    setOwn(processFiles, spec.name, [unitName, envFileName]);
    if (spec.onFailure !== undefined) {
      files.push({ path: names.onFailureUnit(spec.name), contents: render(onFailureUnit(spec, unit, names)), mode: 0o644 });
      processFiles[spec.name]!.push(names.onFailureUnit(spec.name));
    }
    setOwn(unitNames, spec.name, unitName);
  }
  if (issues.length > 0) throw new GeneratorError("systemd", issues);
  if (fixedDelay.length > 0) {
    warnings.push(
      `${fixedDelay.join(", ")}: systemd ${version} restarts after a fixed RestartSec= (restart.delay); ` +
        `the delay doubling up to restart.maxDelay needs RestartSteps=, systemd ${RESTART_STEPS_SINCE} (--systemd-version)`,
    );
  }

  // The target fails when a unit fails to start: it Requires= (and is After=) every unit, so
  // `systemctl start P.target` waits for all of them and exits non-zero if one fails. Not BindsTo=:
  // one unit that exits later (and is restarted by its Restart=) must not stop the target. The
  // units are not PartOf= the target: a restart of one unit propagates to the target through
  // Requires=, and PartOf= would carry that restart on to every other unit.
  const units = model.processes.map(({ name }) => names.unit(name));
  const target: Unit = {
    Unit: {
      Description: systemdPath(`Processes deployed by procman (prefix ${prefix})`),
      ...(units.length > 0 ? { Requires: units, After: units } : {}),
    },
    Install: { WantedBy: options.userUnits === true ? "default.target" : "multi-user.target" },
  };
  files.push({ path: names.target, contents: render(target), mode: 0o644 });
  files.push({ path: names.dirsUnit, contents: render(dirsUnit(names, dirs, options)), mode: 0o644 });
  files.push({ path: names.tmpfiles, contents: tmpfilesSnippet(dirs), mode: 0o644 });
  const scope = options.userUnits === true ? "systemctl --user" : "systemctl";
  const unitDir = options.userUnits === true ? "~/.config/systemd/user" : "/etc/systemd/system";
  const steps = [
    `Keep the generated files in ${installDir} (the units name ${names.tmpfiles} and the .env files there by that path; the .env files stay mode 0600).`,
    `Link the units into systemd's search path: ${scope} link ${[names.dirsUnit, ...units, names.target].map(names.installed).join(" ")}` +
      ` (or copy them into ${unitDir}).`,
    `${scope} daemon-reload`,
    `Start everything, dependencies first (the units create their directories through ${names.dirsUnit}): ${scope} start ${names.target}`,
    `Start at boot: ${scope} enable ${names.target}`,
    `Stop everything: ${scope} stop ${[...units].reverse().join(" ")} (stopping ${names.target} alone stops no unit). Never restart ${names.dirsUnit}: every unit Requires= it; start it instead.`,
  ];
  return {
    files,
    warnings,
    processFiles,
    sharedFiles: [names.target, names.dirsUnit, names.tmpfiles],
    names: unitNames,
    steps,
  };
}

/** The process's exact environment, for EnvironmentFile=: readable by root (or the user manager's user) only. */
function environmentFile(spec: ResolvedProcess, issues: string[]): string {
  const lines = ["# Generated by procman; changes are overwritten by the next procman generate/switch."];
  for (const [name, value] of Object.entries(spec.environment)) {
    // systemd drops a value that is not valid UTF-8; a lone surrogate would be written as U+FFFD.
    if (hasLoneSurrogate(value)) issues.push(`${spec.name}: environment ${name} is not valid Unicode, which systemd's EnvironmentFile= cannot carry`);
    lines.push(`${name}=${systemdEnvFileValue(value)}`);
    // The wrapper's sh sets these itself: it restores them from a copy (and drops the copy).
    if (SH_SETS.includes(name)) lines.push(`${SAVED}${name}=${systemdEnvFileValue(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

function translate(
  spec: ResolvedProcess,
  names: Names,
  version: number,
  options: GeneratorOptions,
  warnings: string[],
  issues: string[],
  fixedDelay: string[],
): Unit {
  const command = spec.foreground ?? spec.daemon!;
  const forking = spec.foreground === undefined;
  // The command runs through env, which would read an executable path with "=" as an assignment.
  if (command.executable.includes("=")) issues.push(`${spec.name}: an executable path with "=" would be read by env as an assignment`);
  if (/^[@\-:+!]/.test(command.executable)) {
    issues.push(`${spec.name}: an executable starting with ${command.executable[0]} would be read by env as an option (and by systemd's ExecStart= as a prefix)`);
  }
  if (spec.readiness.kind === "notify") {
    // Readiness gates the start order, so a warning is not enough.
    issues.push(`${spec.name}: readiness notify (descriptor ${spec.readiness.fd}) cannot be carried: systemd's Type=notify is a socket ($NOTIFY_SOCKET), not a descriptor`);
  }
  const envFile = names.installed(names.envFile(spec.name));
  const wrapper = exactlyPrefix(spec);
  // Paths are not unquoted: systemd strips whitespace at the end of a setting's value.
  const paths = { directory: spec.directory, pidFile: forking ? spec.pidFile : undefined, logFile: spec.logFile };
  for (const [field, value] of Object.entries(paths)) {
    if (value !== undefined && /\s$/.test(value)) issues.push(`${spec.name}: ${field} ends with whitespace, which systemd strips`);
  }
  const dependencies = [names.dirsUnit, ...spec.activatesAfter.map(names.unit)];
  const { restart } = spec;
  const unit: Unit = {
    Unit: {
      Description: systemdPath(spec.description ?? spec.name),
      Requires: dependencies,
      After: dependencies,
      // StartLimitBurst= counts starts, the first one included: `burst` restarts are burst + 1 starts.
      StartLimitIntervalSec: restart.limit.interval,
      StartLimitBurst: restart.limit.burst + 1,
    },
    Service: {
      Type: forking ? "forking" : "exec",
      ...(forking ? { PIDFile: systemdPath(spec.pidFile) } : {}),
      EnvironmentFile: systemdPath(envFile),
      ExecStartPre: [removeStaleReadyFile(spec.readiness), spec.initialize].flatMap((script) =>
        script === undefined ? [] : [withPrefix(wrapper, ["/bin/sh", "-c", script])]),
      ExecStart: withPrefix(wrapper, [command.executable, ...command.args]),
      WorkingDirectory: systemdPath(spec.directory ?? "/"),
      StandardOutput: `append:${systemdPath(spec.logFile)}`,
      StandardError: `append:${systemdPath(spec.logFile)}`,
      KillSignal: spec.stop.signal,
      TimeoutStopSec: spec.stop.timeout,
      Restart: restart.policy,
      RestartSec: restart.delay,
    },
    Install: { WantedBy: names.target },
  };
  const service = unit.Service!;
  if (restart.policy !== "no" && restart.maxDelay > restart.delay) {
    if (version < RESTART_STEPS_SINCE) fixedDelay.push(spec.name);
    else if (restart.delay > 0) {
      // Doubling from delay to maxDelay: systemd grows the delay exponentially over RestartSteps= steps.
      service.RestartSteps = Math.max(1, Math.ceil(Math.log2(restart.maxDelay / restart.delay)));
      service.RestartMaxDelaySec = restart.maxDelay;
    } else {
      warnings.push(`${spec.name}: systemd cannot grow a restart delay of 0 s; restart.maxDelay ignored`);
    }
  }
  if (spec.liveness !== undefined) {
    warnings.push(`${spec.name}: systemd cannot run the ${spec.liveness.kind} liveness check; not carried (a process that hangs is not restarted)`);
  }
  if (spec.onFailure !== undefined) unit.Unit!.OnFailure = names.onFailureUnit(spec.name);
  if (service.ExecStartPre !== undefined && (service.ExecStartPre as readonly string[]).length === 0) delete service.ExecStartPre;
  // A unit counts as started (for After=) only once ExecStartPost= finished: readiness gates dependents.
  const wait = waitForReady(spec, { inherited: true });
  if (wait !== undefined) {
    service.ExecStartPost = withPrefix(wrapper, ["/bin/sh", "-c", wait]);
    service.TimeoutStartSec = Math.ceil(spec.readiness.timeout) + 5;
  }
  if (spec.umask !== undefined) service.UMask = spec.umask;
  if (spec.nice !== undefined) service.Nice = spec.nice;
  if (spec.user !== undefined || spec.group !== undefined) {
    if (options.userUnits === true) warnings.push(`${spec.name}: user units cannot switch User=/Group=; ignored`);
    else {
      if (spec.user !== undefined) service.User = spec.user;
      if (spec.group !== undefined) service.Group = spec.group;
    }
  }
  for (const [section, settings] of Object.entries(spec.overrides.systemd ?? {})) {
    unit[section] = { ...(unit[section] ?? {}), ...(settings as Record<string, Value>) };
  }
  return unit;
}

/**
 * The unit OnFailure= starts once the process's unit is failed (its start failed, or it exited with
 * no restart left): the snippet as the process runs (identity, directory, umask, environment) with
 * PROCMAN_PROCESS naming it, as procman's supervisor runs it; systemd adds MONITOR_SERVICE_RESULT
 * and MONITOR_EXIT_STATUS. Bounded like the supervisor's: 60 s.
 */
function onFailureUnit(spec: ResolvedProcess, unit: Unit, names: Names): Unit {
  const service = unit.Service!;
  const same = Object.fromEntries(
    ["EnvironmentFile", "WorkingDirectory", "UMask", "User", "Group", "StandardOutput", "StandardError"]
      .filter((key) => service[key] !== undefined)
      .map((key) => [key, service[key]!]),
  );
  return {
    Unit: { Description: systemdPath(`onFailure of ${spec.name} (procman prefix ${names.prefix})`) },
    Service: {
      Type: "oneshot",
      ...same,
      Environment: [systemdEnvironment("PROCMAN_PROCESS", spec.name), systemdEnvironment("PROCMAN_STATE", "failed")],
      ExecStart: exactly(spec, ["/bin/sh", "-c", spec.onFailure!], ["PROCMAN_PROCESS", "PROCMAN_STATE"]),
      TimeoutStartSec: 60,
    },
  };
}

/**
 * The oneshot every unit Requires= and is After=: it runs systemd-tmpfiles on the snippet, so the
 * directories exist before systemd opens a unit's log. No RemainAfterExit=: it runs again before
 * each start (a directory removed since is back), and it never needs a restart, which Requires=
 * would carry to every unit.
 */
function dirsUnit(names: Names, dirs: readonly NeededDirectory[], options: GeneratorOptions): Unit {
  const tmpfiles = [
    "systemd-tmpfiles",
    ...(options.userUnits === true ? ["--user"] : []),
    "--create",
    names.installed(names.tmpfiles),
  ];
  // tmpfiles cannot name "the user's primary group": for a user without a group, chgrp (never
  // following a symlink) to what `id -g` says, as User= without Group= does.
  const chgrp = dirs.flatMap((dir) =>
    dir.owner?.user !== undefined && dir.owner.group === undefined
      ? [["/bin/sh", "-c", 'exec chgrp -h -- "$(id -g -- "$0")" "$1"', dir.owner.user, dir.path]]
      : []);
  return {
    Unit: { Description: systemdPath(`Directories of the processes deployed by procman (prefix ${names.prefix})`) },
    Service: {
      Type: "oneshot",
      ExecStart: [tmpfiles, ...chgrp].map((argv) => argv.map(systemdExecWord).join(" ")),
    },
  };
}

/**
 * tmpfiles.d lines: `d PATH MODE USER GROUP -`. The manager's directories are `- - -`: created
 * (0755, owned by whoever runs tmpfiles) when missing, never changed when they exist; a process's
 * own directory gets its mode and owner, on the directory itself only, never following a symlink.
 */
function tmpfilesSnippet(dirs: readonly NeededDirectory[]): string {
  const lines = ["# Generated by procman; changes are overwritten by the next procman generate/switch."];
  for (const dir of dirs) {
    const owner = dir.owner;
    const fields = owner === undefined
      ? ["-", "-", "-"]
      : [owner.mode, owner.user === undefined ? "-" : tmpfilesWord(owner.user), owner.group === undefined ? "-" : tmpfilesWord(owner.group)];
    lines.push(["d", tmpfilesWord(dir.path), ...fields, "-"].join(" "));
  }
  return `${lines.join("\n")}\n`;
}

function render(unit: Unit): string {
  const sections: string[] = [];
  // Own keys only (Object.entries, never for-in): an override can name any section or key.
  for (const [section, settings] of Object.entries(unit)) {
    const lines = [`[${section}]`];
    for (const [key, value] of Object.entries(settings)) {
      if (Array.isArray(value)) for (const item of value as readonly (string | number | boolean)[]) lines.push(`${key}=${renderValue(item)}`);
      else lines.push(`${key}=${renderValue(value as string | number | boolean)}`);
    }
    sections.push(lines.join("\n"));
  }
  return `# Generated by procman; changes are overwritten by the next procman generate/switch.\n${sections.join("\n\n")}\n`;
}

function renderValue(value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  // A newline would end the setting and start a new one: never let one through.
  let text = String(value);
  if (text.includes("\n")) text = text.replace(/\n/g, " ");
  // A line ending in an unescaped backslash continues on the next line (swallowing the next
  // setting). A space after it ends the line instead and is then stripped: the value stays exact.
  return text.endsWith("\\") && /(?:^|[^\\])(?:\\\\)*\\$/.test(text) ? `${text} ` : text;
}
