// process / foregroundProcess / daemon and their arguments: which command each mode runs.
import path from "node:path";
import { checkLine, checkStringArray, type Report } from "../checks.js";
import type { Command, ProcessMode } from "../types.js";

export interface Commands {
  readonly foreground: Command | undefined;
  readonly daemon: Command | undefined;
  readonly mode: ProcessMode;
}

export function resolveCommands(raw: Record<string, unknown>, modelDir: string, report: Report): Commands {
  const processExe = executable(raw, "process", modelDir, report);
  const foregroundProcess = executable(raw, "foregroundProcess", modelDir, report);
  const daemon = executable(raw, "daemon", modelDir, report);
  const args = list(raw, "args", report);
  const foregroundProcessArgs = list(raw, "foregroundProcessArgs", report);
  const daemonArgs = list(raw, "daemonArgs", report);

  const present = (field: string) => raw[field] !== undefined;
  if (!present("process") && !present("foregroundProcess") && !present("daemon")) {
    report("process", "no executable: set process, foregroundProcess or daemon");
  }
  if (present("process") && present("foregroundProcess") && present("daemon")) {
    report("process", "is never used: foregroundProcess and daemon are both set");
  }
  if (present("foregroundProcessArgs") && !present("foregroundProcess") && !present("process")) {
    report("foregroundProcessArgs", "given, but there is no foregroundProcess or process to pass them to");
  }
  if (present("daemonArgs") && !present("daemon") && !present("process")) {
    report("daemonArgs", "given, but there is no daemon or process to pass them to");
  }
  if (present("args") && present("foregroundProcessArgs") && (present("daemonArgs") || !present("daemon"))) {
    report("args", "is never used: foregroundProcessArgs and daemonArgs replace it in every mode");
  }

  // A plain `process` serves both modes; it is a daemon only when daemonArgs say how.
  const foregroundExe = foregroundProcess ?? processExe;
  const daemonExe = daemon ?? (daemonArgs !== undefined ? processExe : undefined);
  const foreground = foregroundExe === undefined ? undefined : { executable: foregroundExe, args: foregroundProcessArgs ?? args ?? [] };
  const daemonCommand = daemonExe === undefined ? undefined : { executable: daemonExe, args: daemonArgs ?? args ?? [] };
  return { foreground, daemon: daemonCommand, mode: foreground !== undefined ? "foreground" : "daemon" };
}

// Module functions, not closures made per process: resolveCommands runs once per process.
function executable(raw: Record<string, unknown>, field: string, modelDir: string, report: Report): string | undefined {
  if (raw[field] === undefined) return undefined;
  const text = checkLine(raw[field], field, report);
  if (text === undefined) return undefined;
  // A bare command name is looked up on the process's PATH when it starts; a path is made absolute.
  return text.includes("/") ? path.resolve(modelDir, text) : text;
}

function list(raw: Record<string, unknown>, field: string, report: Report): string[] | undefined {
  return raw[field] === undefined ? undefined : checkStringArray(raw[field], field, report);
}
