// The real parsers of the targets, driven from the tests: supervisor's own config code (from the
// Python that runs supervisord), plistlib, plistutil, /bin/sh. Each returns undefined-free results
// or throws with the tool's output.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { findTool, haveTool } from "../helpers/tools.js";
import { makeTempDir } from "../helpers/tmp.js";
import { run, show } from "./hostile.js";

const missing = new Set<string>();

/** Whether the tool is there: skip (saying so, once per test) outside CI, fail in CI. */
export function need(tool: string, testName: string): boolean {
  const key = `${tool}\0${testName}`;
  if (missing.has(key) && process.env.CI !== "true") return false;
  const present = haveTool(tool, testName);
  if (!present) missing.add(key);
  return present;
}

/** The Python that runs supervisord (its shebang), which can import supervisor's own modules. */
export function supervisorPython(): string {
  const supervisord = findTool("supervisord");
  if (supervisord === undefined) throw new Error("supervisord is not on PATH");
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(supervisord, "utf8"))?.[1];
  if (shebang === undefined) throw new Error(`${supervisord} has no #! line`);
  return shebang;
}

const SUPERVISOR_DECODE = `
import json, shlex, sys
from supervisor.options import ServerOptions
options = ServerOptions()
options.configfile = sys.argv[1]
options.process_config(do_usage=False)
out = {}
for group in options.process_group_configs:
    for config in group.process_configs:
        out[config.name] = {
            "group": group.name,
            "argv": shlex.split(config.command),
            "directory": config.directory,
            "stdout_logfile": config.stdout_logfile,
            "umask": config.umask,
            "priority": config.priority,
            "autorestart": str(config.autorestart),
            "stopsignal": int(config.stopsignal),
            "stopwaitsecs": config.stopwaitsecs,
            "stopasgroup": config.stopasgroup,
            "killasgroup": config.killasgroup,
            "uid": config.uid,
            "redirect_stderr": config.redirect_stderr,
            "startretries": config.startretries,
            "stdout_logfile_maxbytes": config.stdout_logfile_maxbytes,
            "stdout_logfile_backups": config.stdout_logfile_backups,
        }
json.dump(out, sys.stdout)
`;

export interface SupervisorProgram {
  readonly group: string;
  readonly argv: string[];
  readonly directory: string | null;
  readonly stdout_logfile: string | null;
  readonly umask: number | null;
  readonly priority: number;
  readonly autorestart: string;
  readonly stopsignal: number;
  readonly stopwaitsecs: number;
  readonly stopasgroup: boolean;
  readonly killasgroup: boolean;
  readonly uid: number | null;
  readonly redirect_stderr: boolean;
  readonly startretries: number;
  readonly stdout_logfile_maxbytes: number;
  readonly stdout_logfile_backups: number;
}

/** What supervisord itself reads from a config file: per program, the argv it will exec and more. */
export function supervisorRead(configFile: string): Record<string, SupervisorProgram> {
  const result = run(supervisorPython(), ["-c", SUPERVISOR_DECODE, configFile], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" } });
  if (result.status !== 0) throw new Error(`supervisor could not read ${configFile}:\n${show(result)}`);
  return JSON.parse(result.stdout) as Record<string, SupervisorProgram>;
}

/** A plist as python3 plistlib reads it. */
export function plistlibLoad(file: string): unknown {
  const result = run("python3", ["-c", 'import plistlib,sys,json; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', file]);
  if (result.status !== 0) throw new Error(`plistlib could not read ${file}:\n${show(result)}`);
  return JSON.parse(result.stdout);
}

/**
 * A plist as plistutil (libplist) reads it: converted to a binary plist by plistutil, then that
 * binary read by plistlib (plistutil itself writes only XML or binary).
 */
export function plistutilLoad(file: string): unknown {
  const binary = path.join(makeTempDir("procman-plist-"), `${path.basename(file)}.bin`);
  const converted = run("plistutil", ["-i", file, "-o", binary, "-f", "bin"]);
  if (converted.status !== 0 || converted.stderr !== "") throw new Error(`plistutil could not read ${file}:\n${show(converted)}`);
  return plistlibLoad(binary);
}

/** What /bin/sh makes of `words` (sh source text): the arguments `printf '%s\0' <words>` receives. */
export function shWords(words: string): string[] {
  const script = path.join(makeTempDir("procman-sh-"), "words.sh");
  writeFileSync(script, `printf '%s\\0' ${words}\n`);
  const result = run("/bin/sh", [script], { env: {} });
  if (result.status !== 0) throw new Error(`sh failed:\n${show(result)}`);
  const parts = result.stdout.split("\0");
  if (parts.pop() !== "") throw new Error(`sh output does not end in NUL: ${JSON.stringify(result.stdout)}`);
  return parts;
}
