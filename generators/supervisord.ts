// supervisord: a complete supervisord.conf (socket, log and PID file beside it) and one
// [program:x] per process. supervisord's priority orders spawns but never waits for readiness
// (Supervisor/supervisor#122), so a program that activatesAfter others waits for them itself.
// The exact environment goes through `env -i`, which also sidesteps environment='s parser. Pure.
import { activationLayers } from "../src/graph/graph.js";
import type { ResolvedModel, ResolvedProcess } from "../src/model/types.js";
import { daemonProxy } from "./daemon-proxy.js";
import { supervisorCannotCarry, supervisorValue, supervisorWord } from "./quote.js";
import { startWrapper } from "./readiness-script.js";
import { GeneratorError, type GeneratedFile, type GeneratorOutput } from "./types.js";

type Section = Record<string, string | number | boolean>;

export const SUPERVISORD_CONF = "supervisord.conf";

export function generateSupervisord(model: ResolvedModel): GeneratorOutput {
  const byName = new Map(model.processes.map((process) => [process.name, process]));
  const depth = new Map(activationLayers(model.processes).flatMap((layer, index) => layer.map((name) => [name, index] as const)));
  const warnings: string[] = [];
  const issues: string[] = [];
  const files: GeneratedFile[] = [{ path: SUPERVISORD_CONF, contents: renderMain(), mode: 0o644 }];
  for (const process of model.processes) {
    const dependencies = process.activatesAfter.map((name) => byName.get(name)!);
    const section = translate(process, dependencies, depth.get(process.name) ?? 0, warnings, issues);
    files.push({ path: `conf.d/${process.name}.conf`, contents: render({ [`program:${process.name}`]: section }), mode: 0o644 });
  }
  if (issues.length > 0) throw new GeneratorError("supervisord", issues);
  return { files, warnings };
}

/** The argv supervisord runs for a process: dependency wait and initialize, exact environment, nice, program. */
export function supervisordArgv(process: ResolvedProcess, dependencies: readonly ResolvedProcess[]): string[] {
  const environment = Object.entries(process.environment).map(([name, value]) => `${name}=${value}`);
  const nice = process.nice !== undefined ? ["nice", "-n", String(process.nice)] : [];
  const program = process.foreground !== undefined
    ? [...nice, process.foreground.executable, ...process.foreground.args]
    : [...nice, ...daemonProxy(process)];
  let argv = ["/usr/bin/env", "-i", ...environment, ...program];
  const wrapper = startWrapper(dependencies, process);
  if (wrapper !== undefined) argv = ["/bin/sh", "-c", wrapper, ...argv];
  return argv;
}

function translate(
  process: ResolvedProcess,
  dependencies: readonly ResolvedProcess[],
  depth: number,
  warnings: string[],
  issues: string[],
): Section {
  const argv = supervisordArgv(process, dependencies);
  for (const word of argv) {
    if (/[\r\n]/.test(word)) issues.push(`${process.name}: supervisord's command= cannot carry a line break (in ${JSON.stringify(word)})`);
  }
  const executable = (process.foreground ?? process.daemon)!.executable;
  if (executable.includes("=")) issues.push(`${process.name}: an executable path with "=" would be read by env as an assignment`);
  const paths: Record<string, string | undefined> = { directory: process.directory, stdout_logfile: process.logFile, user: process.user };
  for (const [key, value] of Object.entries(paths)) {
    const problem = value === undefined ? undefined : supervisorCannotCarry(value);
    if (problem !== undefined) issues.push(`${process.name}: ${key} contains ${problem}, which supervisord cannot carry`);
  }
  if (process.group !== undefined) warnings.push(`${process.name}: supervisord has no group setting; group ${process.group} ignored`);
  const section: Section = {
    command: argv.map(supervisorWord).join(" "),
    priority: 100 + depth * 10,
    autostart: true,
    autorestart: process.restart.policy === "always" ? true : process.restart.policy === "on-failure" ? "unexpected" : false,
    startsecs: 1,
    startretries: 3,
    stopsignal: process.stop.signal.replace(/^SIG/, ""),
    stopwaitsecs: Math.ceil(process.stop.timeout),
    stopasgroup: true,
    killasgroup: true,
    directory: supervisorValue(process.directory ?? "/"),
    redirect_stderr: true,
    // The log path is %-expanded twice by supervisord: a literal % needs four.
    stdout_logfile: process.logFile.replace(/%/g, "%%%%"),
    stdout_logfile_maxbytes: 0,
  };
  if (process.umask !== undefined) section.umask = process.umask;
  if (process.user !== undefined) section.user = supervisorValue(process.user);
  return { ...section, ...((process.overrides.supervisord ?? {}) as Section) };
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
