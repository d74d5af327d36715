// One process: every field group handed to its resolver, in the order issues are listed.
import path from "node:path";
import { checkKnownKeys, checkLine, checkText, type Report } from "../checks.js";
import type { ProcessContext, ResolvedProcess } from "../types.js";
import { resolveCommands } from "./commands.js";
import { resolveDirectory } from "./directories.js";
import { resolveEnvironment, resolvePath } from "./environment.js";
import { resolveAbsolute, resolveNice, resolveUmask } from "./execution.js";
import { resolvePidFile } from "./files.js";
import { resolveAccount } from "./identity.js";
import { resolveLiveness } from "./liveness.js";
import { resolveLog } from "./log.js";
import { resolveOverrides } from "./overrides.js";
import { procmanDirectoryProblem, recordsDir } from "./paths.js";
import { resolveShell } from "./probes.js";
import { resolveReadiness } from "./readiness.js";
import { resolveRestart } from "./restart.js";
import { resolveStop } from "./stop.js";

export const PROCESS_FIELDS = [
  "name", "description", "process", "args", "foregroundProcess", "foregroundProcessArgs", "daemon", "daemonArgs",
  "pidFile", "environment", "path", "directory", "umask", "nice", "user", "group", "initialize", "activatesAfter",
  "readiness", "stop", "restart", "liveness", "log", "onFailure", "stateDirectory", "runtimeDirectory", "overrides",
] as const;

/**
 * Every field of one process. The result is only meaningful when nothing was reported: a resolver
 * that finds a problem reports it and goes on with a stand-in, so that all problems show at once.
 */
export function resolveProcess(
  name: string,
  raw: Record<string, unknown>,
  activatesAfter: readonly string[],
  context: ProcessContext,
  report: Report,
): ResolvedProcess {
  checkKnownKeys(raw, PROCESS_FIELDS, "", report);
  const description = raw.description === undefined ? undefined : checkLine(raw.description, "description", report);
  const { foreground, daemon, mode } = resolveCommands(raw, context.modelDir, report);
  const declaredPidFile = resolveAbsolute(raw.pidFile, "pidFile", context.runtimeDir, report);
  const directory = resolveAbsolute(raw.directory, "directory", context.modelDir, report);
  const pathDirs = resolvePath(raw.path, context.modelDir, report);
  const environment = resolveEnvironment(raw.environment, pathDirs, report);
  const umask = resolveUmask(raw.umask, report);
  const nice = resolveNice(raw.nice, report);
  const user = resolveAccount(raw.user, "user", context, report);
  const group = resolveAccount(raw.group, "group", context, report);
  const initialize = raw.initialize === undefined ? undefined : checkText(raw.initialize, "initialize", report);
  const stateDirectory = resolveDirectory(raw.stateDirectory, "stateDirectory", context, report);
  const runtimeDirectory = resolveDirectory(raw.runtimeDirectory, "runtimeDirectory", context, report);
  const logFile = path.join(context.logDir, `${name}.log`);
  const pidFile = resolvePidFile(declaredPidFile, { name, mode, user, runtimeDirectory, logFile, context }, report);
  const readiness = resolveReadiness(
    raw.readiness,
    { mode, pidFile, logFile, fileBase: directory ?? context.modelDir, recordsDir: recordsDir(context), directoryProblem: (file) => procmanDirectoryProblem(file, context) },
    report,
  );
  return {
    name,
    description,
    foreground,
    daemon,
    mode,
    pidFile,
    logFile,
    environment,
    path: pathDirs,
    directory,
    umask,
    nice,
    user,
    group,
    initialize,
    activatesAfter,
    readiness,
    stop: resolveStop(raw.stop, report),
    restart: resolveRestart(raw.restart, report),
    liveness: resolveLiveness(raw.liveness, report),
    log: resolveLog(raw.log, report),
    onFailure: raw.onFailure === undefined ? undefined : resolveShell(raw.onFailure, "onFailure", report),
    stateDirectory,
    runtimeDirectory,
    overrides: resolveOverrides(raw.overrides, report),
  };
}
