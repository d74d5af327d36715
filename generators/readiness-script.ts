// Readiness as POSIX sh, for targets that cannot wait on their own: systemd's ExecStartPost=, the
// dependency wrappers of launchd and supervisord, and the sysvinit start action. Pure text.
import type { Readiness, ResolvedProcess } from "../src/model/types.js";
import { notifyMarker } from "./notify-proxy.js";
import { exactWords } from "./exact-env.js";
import { shQuote } from "./quote.js";

/**
 * `env -i 'NAME=value' ...`: runs what follows with exactly this environment. A sh in front of a
 * program does not pass its environment on unchanged (dash exports PWD, resets IFS and OPTIND).
 * The values are on env's command line: no generator uses it (see exact-env.ts).
 */
export function exactEnv(environment: Readonly<Record<string, string>>): string {
  return ["env -i", ...Object.entries(environment).map(([name, value]) => shQuote(`${name}=${value}`))].join(" ");
}

/**
 * Where a readiness command runs: the process's working directory, with its exact environment — or,
 * `inherited`, with the environment the check itself has (systemd gives it the process's, from
 * its EnvironmentFile: the values must not be written into the unit).
 */
export type CheckContext = Pick<ResolvedProcess, "environment" | "directory"> & {
  readonly inherited?: boolean;
  /** sh words that run what follows with the process's exact environment and end in exec (sysvinit's procman_exactly). */
  readonly exactly?: string;
};

/** A one-shot sh command that exits 0 when the process is ready; undefined for "alive after start". */
export function readinessCheck(readiness: Readiness, logFile: string, context?: CheckContext): string | undefined {
  switch (readiness.kind) {
    case "started":
      return undefined;
    case "pidFile":
      // `read` fails at end of file without a newline, though it has read the PID: accept that too.
      return `{ { read -r p || [ -n "$p" ]; } < ${shQuote(readiness.path)} && [ -n "$p" ] && kill -0 "$p"; } 2>/dev/null`;
    case "tcp":
      // POSIX sh has no sockets; bash's /dev/tcp is on every Linux and macOS. Host and port are
      // positional parameters, never part of bash's source text.
      return `/bin/bash -c 'exec 3<>"/dev/tcp/$0/$1"' ${shQuote(readiness.host)} ${readiness.port} 2>/dev/null`;
    case "http":
      return `[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${shQuote(readiness.url)})" = ${readiness.status} ]`;
    case "command": {
      // As the direct manager runs it: with the process's environment, in its directory.
      if (context === undefined) return `/bin/sh -c ${shQuote(readiness.command)}`;
      const run = context.exactly !== undefined ? `${context.exactly} ` : context.inherited === true ? "exec " : `exec ${exactEnv(context.environment)} `;
      return `( cd ${shQuote(context.directory ?? "/")} && ${run}/bin/sh -c ${shQuote(readiness.command)} )`;
    }
    case "logLine":
      return `grep -Eq -- ${shQuote(readiness.pattern)} ${shQuote(logFile)} 2>/dev/null`;
    case "file":
      // A regular file, never a symlink; one left from an earlier run was removed before the start
      // (removeStaleReadyFile).
      return `{ [ -f ${shQuote(readiness.path)} ] && [ ! -L ${shQuote(readiness.path)} ]; }`;
    case "notify":
      // A descriptor is handed over at the start: no command can look for it afterwards.
      return undefined;
  }
}

/**
 * sh that removes a readiness file left from an earlier run before the process starts (rm never
 * follows a symlink), so that only a file this start creates counts; undefined for other kinds.
 */
export function removeStaleReadyFile(readiness: Readiness): string | undefined {
  return readiness.kind === "file" ? `rm -f -- ${shQuote(readiness.path)}` : undefined;
}

/**
 * One line of sh (supervisord's command= cannot carry more) that polls the check until it passes,
 * or exits 1 once the timeout has passed (at least the timeout: `date +%s` counts whole seconds).
 */
export function waitForReady(spec: ResolvedProcess, options: { inherited?: boolean; exactly?: string } = {}): string | undefined {
  // notify behind the notify proxy (supervisord): its marker file says ready.
  const marker = spec.readiness.kind === "notify" ? notifyMarker(spec) : undefined;
  const context: CheckContext = {
    environment: spec.environment,
    directory: spec.directory,
    inherited: options.inherited === true,
    ...(options.exactly !== undefined ? { exactly: options.exactly } : {}),
  };
  const check = marker !== undefined
    ? readinessCheck({ ...spec.readiness, kind: "file", path: marker }, spec.logFile, context)
    : readinessCheck(spec.readiness, spec.logFile, context);
  if (check === undefined) return undefined;
  const { timeout, interval } = spec.readiness;
  const message = shQuote(`procman: ${spec.name} not ready after ${timeout} s`);
  return (
    `deadline=$(( $(date +%s) + ${Math.ceil(timeout)} )); ` +
    `until ${check}; do ` +
    `if [ "$(date +%s)" -gt "$deadline" ]; then echo ${message} >&2; exit 1; fi; ` +
    `sleep ${interval}; ` +
    "done"
  );
}

/**
 * sh that waits for every dependency to be ready, then execs the program given as "$0" "$@" —
 * with exactly the variables named in `environment` when given, their values taken from the sh's
 * own environment (else with what the sh has, PWD included).
 */
export function dependencyWrapper(dependencies: readonly ResolvedProcess[], environment?: Readonly<Record<string, string>>): string | undefined {
  return startWrapper(dependencies, undefined, environment);
}

/**
 * sh that runs the process's initialize snippet as the direct manager does (its environment, its
 * directory), or exits 1. The values come from the environment the sh runs with (the manager put
 * them there); only the names are in the text.
 */
export function initializeStep(spec: ResolvedProcess): string | undefined {
  if (spec.initialize === undefined) return undefined;
  const message = shQuote(`procman: ${spec.name}: initialize failed`);
  return `( cd ${shQuote(spec.directory ?? "/")} && exec ${exactWords(spec.environment)} /bin/sh -c ${shQuote(spec.initialize)} ) < /dev/null || { echo ${message} >&2; exit 1; }`;
}

/**
 * For supervisors that start a program only through its argv (launchd, supervisord): sh that waits
 * for the dependencies, removes `spec`'s stale readiness file, runs its initialize snippet, then
 * execs "$0" "$@" (with exactly the variables named in `environment` when given, values from the
 * sh's environment). Undefined when there is nothing to do first. A dependency's command check
 * runs with the environment the wrapper has: its own values are the dependency's alone, never
 * handed to another process.
 */
export function startWrapper(
  dependencies: readonly ResolvedProcess[],
  spec: ResolvedProcess | undefined,
  environment?: Readonly<Record<string, string>>,
): string | undefined {
  const steps = [
    ...dependencies.map((dependency) => waitForReady(dependency, { inherited: true })),
    spec === undefined ? undefined : removeStaleReadyFile(spec.readiness),
    spec === undefined ? undefined : initializeStep(spec),
  ];
  const script = steps.filter((step): step is string => step !== undefined);
  if (script.length === 0) return undefined;
  return `${script.join("; ")}; exec ${environment !== undefined ? `${exactWords(environment)} ` : ""}"$0" "$@"`;
}
