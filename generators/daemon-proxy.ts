// Supervisors (launchd, supervisord) watch a foreground process. A self-daemonizing program runs
// behind this proxy: it runs the daemon command, waits for the PID file, forwards the stop signal,
// and lives exactly as long as the daemon (exit 0 when it was asked to stop, 1 when the daemon went
// away by itself). The daemon's argv passes through as "$@", unquoted.
import type { ResolvedProcess } from "../src/model/types.js";
import { shQuote } from "./quote.js";
import { exactWords } from "./exact-env.js";

/** `before`: words run in front of the daemon, behind its exact environment (supervisord's `nice -n N`). */
export function daemonProxy(spec: ResolvedProcess, before: readonly string[] = []): string[] {
  const command = spec.daemon!;
  const pidFile = shQuote(spec.pidFile);
  const signal = spec.stop.signal.replace(/^SIG/, "");
  // One line: supervisord's command= cannot carry more.
  const script = [
    // Trapped from the start: a stop that comes while the daemon starts still reaches it.
    // The manager stops the proxy with the process's own stop signal: that one is forwarded too.
    `stopping=; pid=; trap 'stopping=1; [ -z "$pid" ] || kill -${signal} "$pid" 2>/dev/null' ${[...new Set(["TERM", "INT", signal])].join(" ")}`,
    `rm -f ${pidFile}`,
    // The daemon gets exactly its environment (this sh would add PWD), the values from this sh's
    // environment: none is on a command line.
    `${[exactWords(spec.environment), ...before.map(shQuote)].join(" ")} "$0" "$@" || exit $?`,
    `deadline=$(( $(date +%s) + ${Math.ceil(spec.readiness.timeout)} ))`,
    `until p=$(cat ${pidFile} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; do ` +
      `if [ "$(date +%s)" -gt "$deadline" ]; then echo 'procman: no live PID in '${pidFile} >&2; exit 1; fi; sleep 0.1; done`,
    `pid=$p`,
    `[ -z "$stopping" ] || kill -${signal} "$pid" 2>/dev/null`,
    `while kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done`,
    // A daemon that went away unasked is a failure, so that restart policies see it.
    `[ -n "$stopping" ] || { echo 'procman: the daemon exited' >&2; exit 1; }`,
  ].join("; ");
  return ["/bin/sh", "-c", script, command.executable, ...command.args];
}
