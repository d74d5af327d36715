// Which fields of the model changed between two resolved versions of a process, named as the user
// writes them: a resolved `foreground` that changed because `args` did is reported as "args".
import path from "node:path";
import type { Command, ResolvedProcess } from "../model/types.js";
import { canonicalJson } from "./canonical-json.js";
import { readinessCheck } from "./spec-hash.js";

/** Model fields that restart a process when they change, in the order the plan lists them. */
export function changedFields(before: ResolvedProcess, after: ResolvedProcess): string[] {
  return differences(restartView(before), restartView(after));
}

/** Model fields that change without a restart (what a generated config may still carry). */
export function changedSettings(before: ResolvedProcess, after: ResolvedProcess): string[] {
  return differences(settingsView(before), settingsView(after));
}

function differences(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.filter((key) => canonicalJson(before[key]) !== canonicalJson(after[key]));
}

/**
 * The restart-relevant part of a process in the model's terms. The resolved model no longer says
 * which of process / foregroundProcess / daemon was written, so commands are named by what they
 * do: one executable for both modes is `process`; arguments common to the modes are `args`.
 */
function restartView(spec: ResolvedProcess): Record<string, unknown> {
  return {
    ...commandView(spec.foreground, spec.daemon),
    pidFile: spec.pidFile,
    environment: { ...spec.environment, PATH: declaredPath(spec) },
    path: spec.path,
    directory: spec.directory,
    umask: spec.umask,
    nice: spec.nice,
    user: spec.user,
    group: spec.group,
    initialize: spec.initialize,
    readiness: readinessCheck(spec.readiness),
    stateDirectory: spec.stateDirectory,
    runtimeDirectory: spec.runtimeDirectory,
    // Follows from the name and the state dir; the context's name for that is logDir.
    logDir: path.dirname(spec.logFile),
  };
}

function settingsView(spec: ResolvedProcess): Record<string, unknown> {
  const { timeout, interval } = spec.readiness;
  return {
    description: spec.description,
    activatesAfter: spec.activatesAfter,
    readiness: { timeout, interval },
    stop: spec.stop,
    restart: spec.restart,
    liveness: spec.liveness,
    log: spec.log,
    onFailure: spec.onFailure,
    overrides: spec.overrides,
  };
}

function commandView(foreground: Command | undefined, daemon: Command | undefined): Record<string, unknown> {
  if (foreground !== undefined && daemon !== undefined) {
    const executables =
      foreground.executable === daemon.executable
        ? { process: foreground.executable }
        : { foregroundProcess: foreground.executable, daemon: daemon.executable };
    const sameArgs = canonicalJson(foreground.args) === canonicalJson(daemon.args);
    const args = sameArgs ? { args: foreground.args } : { foregroundProcessArgs: foreground.args, daemonArgs: daemon.args };
    return { ...executables, ...args };
  }
  if (foreground !== undefined) return { foregroundProcess: foreground.executable, args: foreground.args };
  if (daemon !== undefined) return { daemon: daemon.executable, daemonArgs: daemon.args };
  return {};
}

/** The PATH the model declared (or the minimal one): resolved PATH without the `path` entries. */
function declaredPath(spec: ResolvedProcess): string | undefined {
  const full = spec.environment.PATH;
  const prefix = spec.path.join(":");
  if (full === undefined || prefix === "") return full;
  return full.startsWith(`${prefix}:`) ? full.slice(prefix.length + 1) : full === prefix ? "" : full;
}
