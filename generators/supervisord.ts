// supervisord: a complete supervisord.conf (socket, log and PID file beside it) and one
// [program:x] per process. supervisord's priority orders spawns but never waits for readiness
// (Supervisor/supervisor#122), so a program that activatesAfter others waits for them itself.
// The values of the environment are in files readable by their owner only: a program section
// (environment=, mode 0600) or, for `procman switch`, the program's 0700 run script; a sh in front
// of the program, given only the names, makes the environment exact (see exact-env.ts). No value is
// on a command line. Pure.
import path from "node:path";
import { activationLayers } from "../src/graph/graph.js";
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { setOwn } from "../src/own-property.js";
import { daemonProxy } from "./daemon-proxy.js";
import { ENCODED, SAVED, encodeValue, environmentWithCopies, exactArgv, exportLines } from "./exact-env.js";
import { notifyMarker, notifyProxy } from "./notify-proxy.js";
import { directoryCalls, directoryFunctions, neededDirectories, type NeededDirectory } from "./directories.js";
import { prefixOf, supervisordGroupName } from "./naming.js";
import { shQuote, supervisorCannotCarry, supervisorValue, supervisorWord } from "./quote.js";
import { startWrapper } from "./readiness-script.js";
import { GeneratorError, type GeneratedFile, type GeneratorOptions, type GeneratorOutput } from "./types.js";

type Section = Record<string, string | number | boolean>;

export const SUPERVISORD_CONF = "supervisord.conf";

export function generateSupervisord(model: ResolvedModel, options: GeneratorOptions = {}): GeneratorOutput {
  const prefix = prefixOf("supervisord", options);
  const group = supervisordGroupName(prefix);
  const installDir = options.installDir ?? path.join(model.context.stateDir, "lib", "procman", "supervisord");
  const byName = new Map(model.processes.map((spec) => [spec.name, spec]));
  const depth = new Map(activationLayers(model.processes).flatMap((layer, index) => layer.map((name) => [name, index] as const)));
  const warnings: string[] = [];
  const issues: string[] = [];
  const { dirs, issues: dirIssues } = neededDirectories(model);
  issues.push(...dirIssues);
  const setup = `${prefix}-setup.sh`;
  const groupFile = `conf.d/${prefix}.conf`;
  const files: GeneratedFile[] = [
    { path: SUPERVISORD_CONF, contents: renderMain(), mode: 0o644 },
    { path: setup, contents: setupScript(dirs), mode: 0o755 },
  ];
  const processFiles: Record<string, string[]> = {};
  const names: Record<string, string> = {};
  for (const spec of model.processes) {
    const dependencies = spec.activatesAfter.map((name) => byName.get(name)!);
    const stable = options.stableSections === true;
    let section: Section = { ...translate(spec, dependencies, depth.get(spec.name) ?? 0, warnings, issues, !stable), autostart: options.autostart ?? true };
    const file = `conf.d/${prefix}-${spec.name}.conf`;
    setOwn(processFiles, spec.name, [file]);
    if (stable) {
      const run = `${prefix}-${spec.name}.run`;
      files.push({ path: run, contents: runScript(spec, supervisordArgv(spec, dependencies)), mode: 0o700 });
      processFiles[spec.name]!.push(run);
      // supervisord runs the script as root; the script switches identity as the process runs.
      const { user: _user, ...rest } = section;
      section = { ...rest, command: `/bin/sh ${supervisorWord(path.join(installDir, run))}` };
    }
    // environment= holds the values: readable by supervisord's user only.
    files.push({ path: file, contents: render({ [`program:${spec.name}`]: section }), mode: 0o600 });
    setOwn(names, spec.name, `${group}:${spec.name}`);
  }
  if (issues.length > 0) throw new GeneratorError("supervisord", issues);
  // supervisord cannot carry a delay between restarts nor a time window for the limit.
  const restarting = model.processes.filter((spec) => spec.restart.policy !== "no").map(({ name }) => name);
  if (restarting.length > 0) {
    warnings.push(
      `${restarting.join(", ")}: supervisord restarts at once (restart.delay and maxDelay not carried) and gives up after ` +
        "startretries (= restart.limit.burst) failed starts in a row, whatever limit.interval says",
    );
  }
  // A program in a group is addressed as P:name; a group needs at least one program.
  if (model.processes.length > 0) {
    files.push({ path: groupFile, contents: render({ [`group:${group}`]: { programs: model.processes.map(({ name }) => name).join(",") } }), mode: 0o644 });
  }
  const conf = path.join(installDir, SUPERVISORD_CONF);
  const steps = [
    `Keep the generated files together in ${installDir} (supervisord.conf includes conf.d/ beside it).`,
    `Create the directories the programs need (supervisord refuses to start while a log directory is missing; as root, it also gives each stateDirectory/runtimeDirectory its owner): sh ${shQuote(path.join(installDir, setup))}`,
    `Start supervisord with this configuration: supervisord -c ${shQuote(conf)}`,
    `Watch them: supervisorctl -c ${shQuote(conf)} status ${group}:*`,
    `After a change: run ${setup} again, then supervisorctl -c ${shQuote(conf)} update (supervisord reloads a group as a whole: a change of any program restarts every program of ${group}).`,
    `Stop everything: supervisorctl -c ${shQuote(conf)} shutdown`,
  ];
  return {
    files,
    warnings,
    processFiles,
    sharedFiles: [SUPERVISORD_CONF, setup, ...(model.processes.length > 0 ? [groupFile] : [])],
    names,
    steps,
  };
}

/** sh that creates every directory the programs need, before supervisord starts. */
function setupScript(dirs: readonly NeededDirectory[]): string {
  return [
    "#!/bin/sh",
    "# Generated by procman; changes are overwritten by the next procman generate/switch.",
    "# Creates the directories the programs need; run it before supervisord starts (as root when",
    "# the programs run as other users: it gives their own directories their owner).",
    "set -u",
    ...directoryFunctions(),
    ...directoryCalls(dirs),
    "",
  ].join("\n");
}

/**
 * The per-process script of `stableSections` (mode 0700): the environment's values, exported, and
 * the exact argv behind the identity switch of a process that declares user or group (its user's
 * primary group and supplementary groups). supervisord runs it as `/bin/sh <file>`: the values are
 * read from the file, never on a command line.
 */
function runScript(spec: ResolvedProcess, argv: readonly string[]): string {
  const q = shQuote;
  const identity = [
    ...(spec.user !== undefined ? [`--reuid ${q(spec.user)}`] : []),
    ...(spec.group !== undefined ? [`--regid ${q(spec.group)}`] : spec.user !== undefined ? [`--regid "$(id -g ${q(spec.user)})"`] : []),
    spec.user !== undefined ? "--init-groups" : "--clear-groups",
  ].join(" ");
  const change = spec.user !== undefined || spec.group !== undefined;
  return [
    "#!/bin/sh",
    "# Generated by procman; changes are overwritten by the next procman switch.",
    ...exportLines(environmentWithCopies(spec.environment)),
    `exec ${change ? `setpriv ${identity} -- ` : ""}${argv.map(q).join(" ")}`,
    "",
  ].join("\n");
}

/**
 * The argv supervisord runs for a spec: dependency wait and initialize, exact environment, nice,
 * program. Only the environment's names are in it: the values come from the environment
 * supervisord gives the program (environment=, or the run script's exports).
 */
export function supervisordArgv(spec: ResolvedProcess, dependencies: readonly ResolvedProcess[]): string[] {
  const nice = spec.nice !== undefined ? ["nice", "-n", String(spec.nice)] : [];
  // A daemon's proxy runs the daemon through the exact environment itself (it lives as long as the daemon).
  let argv = spec.foreground !== undefined
    ? [...exactArgv(spec.environment), ...nice, spec.foreground.executable, ...spec.foreground.args]
    : daemonProxy(spec, nice);
  // The notify proxy is a sh too: the program behind it gets its exact environment behind it.
  const marker = notifyMarker(spec);
  if (spec.readiness.kind === "notify" && marker !== undefined) argv = [...notifyProxy(spec, spec.readiness.fd, marker), ...argv];
  const wrapper = startWrapper(dependencies, spec);
  if (wrapper !== undefined) argv = ["/bin/sh", "-c", wrapper, ...argv];
  return argv;
}

function translate(
  spec: ResolvedProcess,
  dependencies: readonly ResolvedProcess[],
  depth: number,
  warnings: string[],
  issues: string[],
  withEnvironment: boolean,
): Section {
  const argv = supervisordArgv(spec, dependencies);
  // environment= holds the values (the run script does for `procman switch`).
  const environment = withEnvironment ? supervisorEnvironment(spec) : "";
  for (const word of argv) {
    if (/[\r\n]/.test(word)) issues.push(`${spec.name}: supervisord's command= cannot carry a line break (in ${JSON.stringify(word)})`);
  }
  const executable = (spec.foreground ?? spec.daemon)!.executable;
  if (executable.includes("=")) issues.push(`${spec.name}: an executable path with "=" would be read by env as an assignment`);
  const paths: Record<string, string | undefined> = { directory: spec.directory, stdout_logfile: spec.logFile, user: spec.user };
  for (const [key, value] of Object.entries(paths)) {
    const problem = value === undefined ? undefined : supervisorCannotCarry(value);
    if (problem !== undefined) issues.push(`${spec.name}: ${key} contains ${problem}, which supervisord cannot carry`);
  }
  if (spec.group !== undefined) warnings.push(`${spec.name}: supervisord has no group setting; group ${spec.group} ignored`);
  const section: Section = {
    command: argv.map(supervisorWord).join(" "),
    priority: 100 + depth * 10,
    autostart: true,
    autorestart: spec.restart.policy === "always" ? true : spec.restart.policy === "on-failure" ? "unexpected" : false,
    startsecs: 1,
    // Failed starts in a row before FATAL: the nearest supervisord has to "more than burst restarts".
    startretries: spec.restart.limit.burst,
    stopsignal: spec.stop.signal.replace(/^SIG/, ""),
    stopwaitsecs: Math.ceil(spec.stop.timeout),
    stopasgroup: true,
    killasgroup: true,
    directory: supervisorValue(spec.directory ?? "/"),
    redirect_stderr: true,
    // The log path is %-expanded twice by supervisord: a literal % needs four.
    stdout_logfile: spec.logFile.replace(/%/g, "%%%%"),
    // supervisord rotates as procman does: NAME.log.1 is the newest of `keep`.
    stdout_logfile_maxbytes: spec.log.maxSize,
    stdout_logfile_backups: spec.log.maxSize === 0 ? 0 : spec.log.keep,
  };
  if (spec.readiness.kind === "notify") {
    // POSIX sh redirects single-digit descriptors only; the proxy must be able to write its marker.
    if (spec.readiness.fd > 9) issues.push(`${spec.name}: readiness notify on descriptor ${spec.readiness.fd}: the proxy (POSIX sh) can hand over descriptors 3 to 9 only`);
    if (notifyMarker(spec) === undefined) {
      issues.push(`${spec.name}: readiness notify as user ${spec.user} needs a runtimeDirectory: the proxy, running as that user, marks the process ready there`);
    }
  }
  if (spec.liveness !== undefined) {
    warnings.push(`${spec.name}: supervisord cannot run the ${spec.liveness.kind} liveness check; not carried (a process that hangs is not restarted)`);
  }
  if (spec.onFailure !== undefined) warnings.push(`${spec.name}: onFailure is not carried to supervisord (an event listener could run it)`);
  if (environment !== "") section.environment = environment;
  if (spec.umask !== undefined) section.umask = spec.umask;
  if (spec.user !== undefined) section.user = supervisorValue(spec.user);
  return { ...section, ...((spec.overrides.supervisord ?? {}) as Section) };
}

/**
 * environment= (supervisor ≤ 4.3: non-POSIX shlex, quotes stripped from each value's ends, no
 * escapes): each value in the quotes it does not contain, `%` doubled. A value it cannot carry (a
 * quote at an end, both kinds of quote, whitespace before `;`/`#`, a control character or line
 * break, `%(here)s`) goes as its ENCODED copy, which the last step before the program decodes: every value is
 * carried, none on a command line.
 */
function supervisorEnvironment(spec: ResolvedProcess): string {
  const pairs: string[] = [];
  const encoded = new Set<string>();
  for (const [name, value] of Object.entries(spec.environment)) {
    if (!environmentCarries(value)) encoded.add(name);
  }
  for (const [name, value] of Object.entries(environmentWithCopies(spec.environment))) {
    const declared = name.startsWith(SAVED) ? name.slice(SAVED.length) : name;
    if (encoded.has(declared)) {
      // The copy serves a shell-set variable too: it is decoded after every intermediate sh.
      if (declared === name) pairs.push(`${ENCODED}${name}="${encodeValue(value)}"`);
      continue;
    }
    const quote = value.includes('"') ? "'" : '"';
    pairs.push(`${name}=${quote}${supervisorValue(value)}${quote}`);
  }
  return pairs.join(",");
}

/** Whether environment= carries `value` as it is (in the quotes it does not contain). */
function environmentCarries(value: string): boolean {
  return !(
    /[\x00-\x1f\x7f-\x9f\u2028\u2029]|[^\S ]/.test(value) ||
    /^['"]|['"]$/.test(value) ||
    (value.includes("'") && value.includes('"')) ||
    / [;#]/.test(value) ||
    // supervisord replaces the text %(here)s in an included file before any % formatting, doubled or not.
    value.includes("%(here)s")
  );
}

function renderMain(): string {
  return render({
    unix_http_server: { file: "%(here)s/supervisor.sock", chmod: "0700" },
    supervisord: {
      logfile: "%(here)s/supervisord.log",
      pidfile: "%(here)s/supervisord.pid",
      childlogdir: "%(here)s",
      nodaemon: false,
    },
    "rpcinterface:supervisor": { "supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface" },
    supervisorctl: { serverurl: "unix://%(here)s/supervisor.sock" },
    // Relative to this file: supervisord splits files= on whitespace after expanding %(here)s.
    include: { files: "conf.d/*.conf" },
  });
}

function render(sections: Record<string, Section>): string {
  const blocks = Object.entries(sections).map(([name, settings]) => {
    const lines = [`[${name}]`];
    for (const [key, value] of Object.entries(settings)) lines.push(`${key}=${String(value)}`);
    return lines.join("\n");
  });
  return `; Generated by procman; changes are overwritten by the next procman generate/switch.\n${blocks.join("\n\n")}\n`;
}
