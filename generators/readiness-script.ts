// Readiness as POSIX sh, for targets that cannot wait on their own: systemd's ExecStartPost=, the
// dependency wrappers of launchd and supervisord, and the sysvinit start action. Pure text.
import type { Readiness, ResolvedProcess } from "../src/model/types.js";
import { shQuote } from "./quote.js";

/** A one-shot sh command that exits 0 when the process is ready; undefined for "alive after start". */
export function readinessCheck(readiness: Readiness, logFile: string): string | undefined {
  switch (readiness.kind) {
    case "started":
      return undefined;
    case "pidFile":
      return `{ read -r p < ${shQuote(readiness.path)} && [ -n "$p" ] && kill -0 "$p"; } 2>/dev/null`;
    case "tcp":
      // POSIX sh has no sockets; bash's /dev/tcp is on every Linux and macOS.
      return `/bin/bash -c ${shQuote(`exec 3<>/dev/tcp/${readiness.host}/${readiness.port}`)} 2>/dev/null`;
    case "http":
      return `[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${shQuote(readiness.url)})" = ${readiness.status} ]`;
    case "command":
      return `/bin/sh -c ${shQuote(readiness.command)}`;
    case "logLine":
      return `grep -Eq -- ${shQuote(readiness.pattern)} ${shQuote(logFile)} 2>/dev/null`;
  }
}

/** One line of sh (supervisord's command= cannot carry more) that polls the check until it passes, or exits 1 after the timeout. */
export function waitForReady(process: ResolvedProcess): string | undefined {
  const check = readinessCheck(process.readiness, process.logFile);
  if (check === undefined) return undefined;
  const { timeout, interval } = process.readiness;
  const message = shQuote(`procman: ${process.name} not ready after ${timeout} s`);
  return (
    `deadline=$(( $(date +%s) + ${Math.ceil(timeout)} )); ` +
    `until ${check}; do ` +
    `if [ "$(date +%s)" -ge "$deadline" ]; then echo ${message} >&2; exit 1; fi; ` +
    `sleep ${interval}; ` +
    "done"
  );
}

/** sh that waits for every dependency to be ready, then execs the program given as "$0" "$@". */
export function dependencyWrapper(dependencies: readonly ResolvedProcess[]): string | undefined {
  const waits = dependencies.map(waitForReady).filter((wait): wait is string => wait !== undefined);
  if (waits.length === 0) return undefined;
  return `${waits.join("; ")}; exec "$0" "$@"`;
}
