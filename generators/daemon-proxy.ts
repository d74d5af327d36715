// Supervisors (launchd, supervisord) watch a foreground process. A self-daemonizing program runs
// behind this proxy: it runs the daemon command, waits for the PID file, forwards the stop signal,
// and lives exactly as long as the daemon. The daemon's argv passes through as "$@", unquoted.
import type { ResolvedProcess } from "../src/model/types.js";
import { shQuote } from "./quote.js";

export function daemonProxy(process: ResolvedProcess): string[] {
  const command = process.daemon!;
  const pidFile = shQuote(process.pidFile);
  const signal = process.stop.signal.replace(/^SIG/, "");
  // One line: supervisord's command= cannot carry more.
  const script = [
    `rm -f ${pidFile}`,
    `"$0" "$@" || exit $?`,
    `deadline=$(( $(date +%s) + ${Math.ceil(process.readiness.timeout)} ))`,
    `until pid=$(cat ${pidFile} 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do ` +
      `if [ "$(date +%s)" -ge "$deadline" ]; then echo 'procman: no live PID in '${pidFile} >&2; exit 1; fi; sleep 0.1; done`,
    `trap 'kill -${signal} "$pid" 2>/dev/null' TERM INT`,
    `while kill -0 "$pid" 2>/dev/null; do sleep 1 & wait $!; done`,
  ].join("; ");
  return ["/bin/sh", "-c", script, command.executable, ...command.args];
}
